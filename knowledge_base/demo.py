"""The knowledge base's part of `flask demo seed`: published articles in a few categories, some
translated, and a short FAQ. Registered as a demo seeder in init_app; the core calls it with a
random generator after its own data, then commits (the search job indexes everything after that)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from helpdesk.cases.models import Case, Channel
from helpdesk.extensions import db
from helpdesk.people.models import Contact, Role, User
from helpdesk.satisfaction.services import record_funnel_step
from helpdesk.types import utcnow
from knowledge_base import services
from knowledge_base.models import FAQ, Article, ArticleStatus, Category, SearchLogEntry, Visibility


def seed_demo(rng: random.Random) -> None:
    """Write the demo articles and FAQs once: nothing is added when the first article exists already."""
    if db.session.scalar(select(Article.id).where(Article.title == ARTICLES[0][1]).limit(1)) is not None:
        return
    editor = db.session.scalar(select(User).where(User.role.in_([Role.MANAGER, Role.ADMIN]), User.active.is_(True))
                               .order_by(User.role.desc(), User.id).limit(1))
    authors = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id))) or [editor]
    if editor is None:
        return  # publishing needs a manager or an admin
    categories = {}
    for position, (key, name, names, description) in enumerate(CATEGORIES, start=1):
        categories[key] = (db.session.scalar(select(Category).where(Category.name == name))
                           or services.create_category(editor, name=name, names=names, description=description,
                                                       position=position))
    for key, title, summary, body, tags, visibility, translations in ARTICLES:
        article = services.create_article(rng.choice(authors), title=title, summary=summary, body=body, language="en",
                                          category_id=categories[key].id, tags=tags, visibility=visibility)
        services.change_status(editor, article, ArticleStatus.PUBLISHED)
        _counters(rng, article)
        for language, (t_title, t_summary, t_body) in translations.items():
            translation = services.create_article(rng.choice(authors), title=t_title, summary=t_summary, body=t_body,
                                                  language=language, translation_of=article, tags=tags,
                                                  visibility=visibility)
            services.change_status(editor, translation, ArticleStatus.PUBLISHED)
            _counters(rng, translation, scale=0.2)
    if db.session.scalar(select(FAQ.id).limit(1)) is None:
        for position, (key, question, answer) in enumerate(FAQS, start=1):
            services.create_faq(editor, dict(question=question, answer=answer, language="en", position=position,
                                             visibility=Visibility.PUBLIC.value, category_id=categories[key].id))
    _searches_and_deflection(random.Random(rng.random()))


def _searches_and_deflection(rng: random.Random, days: int = 60) -> None:
    """Searches (some finding nothing) and new-case forms where suggested articles did or did not
    answer the customer, over the last `days` days: the self-service insights' raw material."""
    now = utcnow()
    articles = {a.title: a for a in db.session.scalars(select(Article).where(Article.language == "en"))}
    contacts = list(db.session.scalars(select(Contact).order_by(Contact.id).limit(60)))
    portal_cases = list(db.session.scalars(select(Case).where(Case.channel == Channel.PORTAL,
                                                              Case.created_at >= now - timedelta(days=days))
                                           .order_by(Case.id)))

    def when() -> datetime:
        return now - timedelta(days=days * rng.random() ** 1.2, minutes=rng.randrange(1, 600))

    for _ in range(320):
        query, title = rng.choice(SEARCHES)
        found = 0 if title is None else rng.randrange(1, 8)
        db.session.add(SearchLogEntry(query=query, language="en", results=found, created_at=when(),
                                      audience=rng.choices(["public", "customer", "staff"], [5, 4, 1])[0]))
    for n in range(70):
        query, title = rng.choice([s for s in SEARCHES if s[1]])
        at, attempt, contact = when(), f"demo-{n}", rng.choice(contacts) if contacts else None
        steps = [("suggestions_shown", None, None)]
        if rng.random() < 0.5:
            steps.append(("article_opened", articles[title].id if title in articles else None, None))
        if rng.random() < 0.4 or not portal_cases:
            steps.append(("form_abandoned", None, None))
        else:  # the form was sent: the attempt ends with that case, minutes after it began
            case = rng.choice(portal_cases)
            steps.append(("case_created", None, case))
            at = case.created_at - timedelta(minutes=len(steps) * 4)
        for step, article_id, case in steps:
            event = record_funnel_step(attempt, step, contact=contact, article_id=article_id, case=case, query=query)
            if event is not None:
                event.created_at = at
            at += timedelta(minutes=rng.randrange(1, 4))


def _counters(rng: random.Random, article: Article, scale: float = 1.0) -> None:
    """Readers and votes, so the popular lists and the helpfulness figures have something to show."""
    article.view_count = int(rng.randrange(20, 900) * scale)
    article.helpful_count = int(article.view_count * rng.uniform(0.05, 0.2))
    article.not_helpful_count = int(article.view_count * rng.uniform(0.0, 0.05))


# --- the demo content ------------------------------------------------------------------------

CATEGORIES = [
    ("account", "Account and sign-in",
     {"ru": "Учётная запись и вход", "it": "Account e accesso", "bg": "Профил и вход", "fa": "حساب و ورود"},
     "Passwords, two-factor sign-in and who may use your account."),
    ("billing", "Billing and invoices",
     {"ru": "Оплата и счета", "it": "Fatturazione", "bg": "Плащания и фактури", "fa": "صورتحساب و پرداخت"},
     "Plans, payments, refunds and invoices."),
    ("network", "Network and VPN",
     {"ru": "Сеть и VPN", "it": "Rete e VPN", "bg": "Мрежа и VPN", "fa": "شبکه و VPN"},
     "Connecting from home or the office."),
    ("devices", "Printers and devices",
     {"ru": "Принтеры и устройства", "it": "Stampanti e dispositivi", "bg": "Принтери и устройства",
      "fa": "چاپگرها و دستگاه‌ها"},
     "Printers, scanners, laptops and what the warranty covers."),
]

_RESET_EN = """If you forgot your password, you can set a new one yourself.

1. Open the sign-in page and choose **Forgot password?**
2. Enter the email address of your account.
3. Open the link we email you **within 30 minutes** and choose a new password of at least 10 characters.

If the link says it has expired, request a new one and open it from the same browser. Still stuck?
Contact support from the address we have on file."""

_VPN_EN = """The VPN keeps your connection to the office network private when you work elsewhere.

## Install the client
Download the client for your operating system from the portal, then import the profile we sent you.

## When it disconnects
- Check that your home network is stable (other sites load quickly).
- Update the client to the latest version.
- Export the logs (**Help > Export logs**) and attach them to a case if the tunnel still drops."""

ARTICLES = [
    ("account", "How to reset your password",
     "Set a new password yourself when you have forgotten the old one.", _RESET_EN,
     ["password", "account"], Visibility.PUBLIC.value, {
         "ru": ("Как сбросить пароль", "Задайте новый пароль, если забыли старый.",
                "Если вы забыли пароль, вы можете задать новый.\n\n1. Откройте страницу входа и выберите "
                "**Забыли пароль?**\n2. Введите адрес электронной почты.\n3. Откройте ссылку из письма "
                "**в течение 30 минут** и задайте новый пароль не короче 10 символов."),
         "it": ("Come reimpostare la password", "Imposta una nuova password se hai dimenticato quella vecchia.",
                "Se hai dimenticato la password puoi impostarne una nuova.\n\n1. Apri la pagina di accesso e "
                "scegli **Password dimenticata?**\n2. Inserisci l'indirizzo email dell'account.\n3. Apri il "
                "link che ti inviamo **entro 30 minuti** e scegli una password di almeno 10 caratteri."),
         "bg": ("Как да смените паролата си", "Задайте нова парола, ако сте забравили старата.",
                "Ако сте забравили паролата си, можете сами да зададете нова.\n\n1. Отворете страницата за "
                "вход и изберете **Забравена парола?**\n2. Въведете имейл адреса на профила.\n3. Отворете "
                "връзката от писмото **до 30 минути** и изберете парола от поне 10 знака."),
         "fa": ("چگونه رمز عبور خود را بازنشانی کنیم", "اگر رمز عبور را فراموش کرده‌اید، رمز جدیدی بسازید.",
                "اگر رمز عبور خود را فراموش کرده‌اید، می‌توانید خودتان رمز جدیدی تعیین کنید.\n\n"
                "۱. صفحهٔ ورود را باز کنید و **رمز عبور را فراموش کرده‌اید؟** را انتخاب کنید.\n"
                "۲. نشانی ایمیل حساب خود را وارد کنید.\n"
                "۳. پیوندی را که برایتان می‌فرستیم **ظرف ۳۰ دقیقه** باز کنید و رمزی با دست‌کم ۱۰ نویسه برگزینید."),
     }),
    ("account", "Move two-factor sign-in to a new phone",
     "What to do before and after you change phones.",
     "Before you reset your old phone, open **Profile > Security** and choose **Move to a new device**. "
     "Scan the code with the authenticator app on the new phone and enter the six-digit code it shows.\n\n"
     "Lost the old phone already? Use one of your backup codes, or ask your administrator to reset "
     "two-factor sign-in for you.",
     ["two-factor", "account"], Visibility.CUSTOMERS.value, {}),
    ("billing", "Understanding your invoice",
     "What each line of the monthly invoice means.",
     "Each invoice lists your plan, the number of users billed, any add-ons and VAT.\n\n"
     "- **Prorated lines** appear when users were added in the middle of a billing period.\n"
     "- **Credits** from refunds are taken off the next invoice.\n"
     "- Add your **purchase order number** under *Billing > Details* and it is printed on every invoice.",
     ["invoice", "billing"], Visibility.CUSTOMERS.value, {
         "ru": ("Как читать счёт", "Что означает каждая строка ежемесячного счёта.",
                "В каждом счёте указаны тариф, число пользователей, дополнительные услуги и НДС.\n\n"
                "- **Пропорциональные строки** появляются, если пользователи добавлены в середине периода.\n"
                "- **Возвраты** вычитаются из следующего счёта."),
         "it": ("Capire la fattura", "Cosa significa ogni riga della fattura mensile.",
                "Ogni fattura riporta il piano, il numero di utenti, i servizi aggiuntivi e l'IVA.\n\n"
                "- Le **righe pro rata** compaiono quando si aggiungono utenti a metà periodo.\n"
                "- I **crediti** dei rimborsi sono scalati dalla fattura successiva."),
         "bg": ("Как да разчетете фактурата", "Какво означава всеки ред от месечната фактура.",
                "Всяка фактура съдържа плана, броя потребители, добавките и ДДС.\n\n"
                "- **Пропорционални редове** има, когато потребители са добавени в средата на периода.\n"
                "- **Кредитите** от възстановявания се приспадат от следващата фактура."),
         "fa": ("آشنایی با صورتحساب", "معنای هر سطر صورتحساب ماهانه.",
                "هر صورتحساب شامل طرح، تعداد کاربران، افزونه‌ها و مالیات بر ارزش افزوده است.\n\n"
                "- **سطرهای تناسبی** وقتی دیده می‌شوند که کاربری در میانهٔ دوره افزوده شود.\n"
                "- **اعتبار** بازپرداخت‌ها از صورتحساب بعدی کم می‌شود."),
     }),
    ("billing", "Change or cancel your plan",
     "Upgrades apply at once; downgrades at the next renewal.",
     "Open **Billing > Plan** to change plans. An upgrade takes effect immediately and is prorated. A "
     "downgrade applies at your next renewal; users above the new limit keep read-only access.",
     ["plan", "billing"], Visibility.CUSTOMERS.value, {}),
    ("billing", "Refunds for duplicate charges",
     "How long a refund takes and where to see it.",
     "When a payment is taken twice we refund the duplicate as soon as we see it. Card refunds reach your "
     "account within **5 to 7 working days**; bank transfers may take up to 10.",
     ["refund", "billing"], Visibility.PUBLIC.value, {}),
    ("network", "Connect to the VPN from home",
     "Install the client, import your profile and fix dropped connections.", _VPN_EN,
     ["vpn", "network"], Visibility.CUSTOMERS.value, {}),
    ("network", "VPN gateway certificate renewal (internal)",
     "Steps for the team when a client says 'certificate not trusted'.",
     "The gateway certificate is renewed every year in March. Clients that cached the old one show "
     "*certificate not trusted*: ask the customer to reinstall the profile from the portal. If several "
     "customers report it within an hour, tell the network team before replying to each case.",
     ["vpn", "certificate"], Visibility.INTERNAL.value, {}),
    ("devices", "Printer jams and blank pages",
     "The usual fixes before you open a case.",
     "1. Take out the paper tray and the rear tray; remove any torn paper.\n"
     "2. Use paper of 80 g/m² and fan the stack before loading it.\n"
     "3. Blank pages usually mean an empty or unsealed toner cartridge: remove the orange tape.\n\n"
     "Send us the model and serial number from the sticker on the back if it still jams.",
     ["printer", "hardware"], Visibility.PUBLIC.value, {}),
    ("devices", "What the hardware warranty covers",
     "Repairs and replacements during the warranty, and how to claim.",
     "Products bought from us are covered for one to three years from the date of sale, as shown on your "
     "asset list in the portal. The warranty covers faults in parts and workmanship, not accidental damage "
     "or consumables such as toner. Open a case with the **serial number** to claim.",
     ["warranty", "hardware"], Visibility.CUSTOMERS.value, {}),
    ("devices", "Swapping a faulty device under contract (internal)",
     "How the team handles a replacement for a customer with a service contract.",
     "Check the asset's warranty end and the customer's contract on the case. Under warranty: order the "
     "replacement and log the time as not billable. Out of warranty but under contract: log the time as "
     "billable; it counts against the contract's hours.",
     ["warranty", "contract"], Visibility.INTERNAL.value, {}),
]

# (what people typed, the article that answers it or None: nothing found)
SEARCHES = [
    ("reset password", "How to reset your password"), ("password", "How to reset your password"),
    ("vpn disconnects", "Connect to the VPN from home"), ("vpn", "Connect to the VPN from home"),
    ("invoice", "Understanding your invoice"), ("refund", "Refunds for duplicate charges"),
    ("charged twice", "Refunds for duplicate charges"), ("printer jam", "Printer jams and blank pages"),
    ("blank pages", "Printer jams and blank pages"), ("warranty", "What the hardware warranty covers"),
    ("cancel plan", "Change or cancel your plan"), ("two factor new phone", "Move two-factor sign-in to a new phone"),
    ("fax", None), ("dark mode", None), ("linux driver", None), ("student discount", None),
]

FAQS = [
    ("account", "How do I change my email address?",
     "Open **Profile > Account**, enter the new address and confirm it from the email we send."),
    ("account", "Who can see my cases?",
     "You, the colleagues you add as followers and, if your organization has a manager, that manager."),
    ("billing", "Which payment methods do you accept?",
     "Credit and debit cards, SEPA direct debit and bank transfer on yearly plans."),
    ("billing", "Can I get a copy of an old invoice?",
     "Yes: every invoice stays under **Billing > Invoices**; download it as PDF at any time."),
    ("network", "Which ports does the VPN need?",
     "UDP 1194 and TCP 443. Most home routers allow both without changes."),
    ("devices", "Where do I find a serial number?",
     "On the sticker on the back or underneath the device, starting with the product code, e.g. LPR2403-12345."),
]
