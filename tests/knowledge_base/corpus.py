"""A small multilingual knowledge base for the relevance tests: the same five topics in five languages."""
from __future__ import annotations

ARTICLES = {
    "en": {
        "password": ("Reset your account password", "Forgot the password? Reset it from the sign-in page.",
                     "Open the sign-in page and choose **Forgot password**. We send a link to your e-mail address. "
                     "The link works for one hour. Choose a new password of at least twelve characters."),
        "printer": ("Printer is not printing", "What to do when the office printer stops printing or jams.",
                    "Check that the printer is switched on and has paper. Clear any paper jam from tray 2. "
                    "Restart the print spooler on your computer and send the document again."),
        "invoice": ("Download an invoice", "Where to find your monthly invoices and receipts.",
                    "Invoices are issued on the first day of each month. Open **Billing** and choose the month. "
                    "You can download every invoice as a PDF file."),
        "vpn": ("Connect to the VPN from home", "Remote access to the company network.",
                "Install the VPN client, sign in with your company account and choose the nearest server. "
                "If the connection drops, check your home router and reconnect."),
        "mailbox": ("Set up e-mail on your phone", "Add your work mailbox to a mobile phone.",
                    "Open the mail app on the phone, add an Exchange account and enter your work address. "
                    "Synchronisation of calendars and contacts starts within a few minutes."),
    },
    "ru": {
        "password": ("Сброс пароля учётной записи", "Забыли пароль? Сбросьте его на странице входа.",
                     "Откройте страницу входа и нажмите «Забыли пароль». Мы пришлём ссылку на вашу почту. "
                     "Ссылка действует один час. Придумайте новый пароль длиной не меньше двенадцати символов."),
        "printer": ("Принтер не печатает", "Что делать, если офисный принтер перестал печатать или зажевал бумагу.",
                    "Проверьте, что принтер включён и в нём есть бумага. Извлеките застрявшую бумагу из лотка. "
                    "Перезапустите службу печати на компьютере и отправьте документ снова."),
        "invoice": ("Как скачать счёт", "Где найти ежемесячные счета и квитанции.",
                    "Счета выставляются первого числа каждого месяца. Откройте раздел «Оплата» и выберите месяц. "
                    "Каждый счёт можно скачать в формате PDF."),
        "vpn": ("Подключение к VPN из дома", "Удалённый доступ к сети компании.",
                "Установите клиент VPN, войдите с рабочей учётной записью и выберите ближайший сервер. "
                "Если соединение обрывается, проверьте домашний роутер и подключитесь снова."),
        "mailbox": ("Настройка почты на телефоне", "Добавьте рабочий почтовый ящик в мобильный телефон.",
                    "Откройте почтовое приложение, добавьте учётную запись Exchange и введите рабочий адрес. "
                    "Синхронизация календарей и контактов начнётся через несколько минут."),
    },
    "it": {
        "password": ("Reimpostare la password dell'account", "Hai dimenticato la password? Reimpostala dalla pagina di accesso.",
                     "Apri la pagina di accesso e scegli **Password dimenticata**. Inviamo un collegamento al tuo indirizzo e-mail. "
                     "Il collegamento è valido per un'ora. Scegli una nuova password di almeno dodici caratteri."),
        "printer": ("La stampante non stampa", "Cosa fare quando la stampante dell'ufficio smette di stampare.",
                    "Controlla che la stampante sia accesa e abbia carta. Rimuovi la carta inceppata dal cassetto. "
                    "Riavvia il servizio di stampa sul computer e invia di nuovo il documento."),
        "invoice": ("Scaricare una fattura", "Dove trovare le fatture mensili e le ricevute.",
                    "Le fatture vengono emesse il primo giorno di ogni mese. Apri **Fatturazione** e scegli il mese. "
                    "Puoi scaricare ogni fattura come file PDF."),
        "vpn": ("Collegarsi alla VPN da casa", "Accesso remoto alla rete aziendale.",
                "Installa il client VPN, accedi con l'account aziendale e scegli il server più vicino. "
                "Se la connessione cade, controlla il router di casa e ricollegati."),
        "mailbox": ("Configurare la posta sul telefono", "Aggiungi la casella di lavoro a un telefono cellulare.",
                    "Apri l'app di posta sul telefono, aggiungi un account Exchange e inserisci l'indirizzo di lavoro. "
                    "La sincronizzazione di calendari e contatti inizia entro pochi minuti."),
    },
    "bg": {
        "password": ("Нулиране на паролата за акаунта", "Забравихте паролата? Нулирайте я от страницата за вход.",
                     "Отворете страницата за вход и изберете „Забравена парола“. Ще изпратим връзка на вашия имейл. "
                     "Връзката е валидна един час. Изберете нова парола с поне дванадесет знака."),
        "printer": ("Принтерът не печата", "Какво да направите, когато офис принтерът спре да печата.",
                    "Проверете дали принтерът е включен и има хартия. Извадете заседналата хартия от тавата. "
                    "Рестартирайте услугата за печат на компютъра и изпратете документа отново."),
        "invoice": ("Изтегляне на фактура", "Къде да намерите месечните фактури и разписки.",
                    "Фактурите се издават на първо число всеки месец. Отворете „Плащания“ и изберете месеца. "
                    "Всяка фактура може да се изтегли като PDF файл."),
        "vpn": ("Свързване към VPN от вкъщи", "Отдалечен достъп до мрежата на компанията.",
                "Инсталирайте VPN клиента, влезте с фирмения акаунт и изберете най-близкия сървър. "
                "Ако връзката прекъсва, проверете домашния рутер и се свържете отново."),
        "mailbox": ("Настройване на поща на телефона", "Добавете служебната пощенска кутия в мобилния телефон.",
                    "Отворете приложението за поща, добавете акаунт Exchange и въведете служебния адрес. "
                    "Синхронизирането на календари и контакти започва до няколко минути."),
    },
    "fa": {
        "password": ("بازنشانی رمز عبور حساب کاربری", "رمز عبور را فراموش کرده‌اید؟ آن را از صفحهٔ ورود بازنشانی کنید.",
                     "صفحهٔ ورود را باز کنید و «فراموشی رمز عبور» را انتخاب کنید. پیوندی به نشانی ایمیل شما می‌فرستیم. "
                     "این پیوند ۱ ساعت اعتبار دارد. یک رمز عبور تازه با دست‌کم ۱۲ نویسه انتخاب کنید."),
        "printer": ("چاپگر چاپ نمی‌کند", "وقتی چاپگر اداره از چاپ کردن بازمی‌ماند چه باید کرد.",
                    "بررسی کنید که چاپگر روشن است و کاغذ دارد. کاغذ گیرکرده را از سینی بیرون بیاورید. "
                    "سرویس چاپ را روی رایانه دوباره راه‌اندازی کنید و سند را دوباره بفرستید."),
        "invoice": ("دریافت صورتحساب", "صورتحساب‌های ماهانه و رسیدها را کجا پیدا کنیم.",
                    "صورتحساب‌ها روز اول هر ماه صادر می‌شوند. بخش «پرداخت» را باز کنید و ماه را انتخاب کنید. "
                    "هر صورتحساب را می‌توانید به صورت فایل PDF دریافت کنید."),
        "vpn": ("اتصال به VPN از خانه", "دسترسی از راه دور به شبکهٔ شرکت.",
                "کلاینت VPN را نصب کنید، با حساب شرکت وارد شوید و نزدیک‌ترین سرور را انتخاب کنید. "
                "اگر اتصال قطع شد، مودم خانه را بررسی کنید و دوباره وصل شوید."),
        "mailbox": ("راه‌اندازی ایمیل روی تلفن همراه", "صندوق پستی کاری را به تلفن همراه اضافه کنید.",
                    "برنامهٔ ایمیل را روی تلفن باز کنید، یک حساب Exchange اضافه کنید و نشانی کاری را وارد کنید. "
                    "همگام‌سازی تقویم‌ها و مخاطبان چند دقیقه بعد آغاز می‌شود."),
    },
}

SYNONYMS = {
    "en": "printer, printing device, copier",
    "ru": "счёт, инвойс",
    "it": "fattura, bolletta",
    "bg": "фактура, сметка",
    "fa": "صورتحساب, فاکتور",
}

# (language, what a customer types, the topic that must come first)
QUERIES = [
    # English: inflections, typos, synonyms
    ("en", "passwords", "password"),
    ("en", "resetting password", "password"),
    ("en", "pasword", "password"),
    ("en", "printers printed", "printer"),
    ("en", "priner jammed", "printer"),
    ("en", "copier", "printer"),
    ("en", "invoices", "invoice"),
    ("en", "invoise", "invoice"),
    ("en", "connecting vpn", "vpn"),
    ("en", "mailbox phones", "mailbox"),
    # Russian: cases and numbers, ё/е, typos, synonyms
    ("ru", "пароли", "password"),
    ("ru", "сбросить пароль", "password"),
    ("ru", "парль", "password"),
    ("ru", "принтеры", "printer"),
    ("ru", "принтер печатает", "printer"),
    ("ru", "счета", "invoice"),
    ("ru", "счет", "invoice"),
    ("ru", "инвойс", "invoice"),
    ("ru", "подключиться к vpn", "vpn"),
    ("ru", "почтовым ящиком", "mailbox"),
    # Italian: plurals, elision, accents, typos, synonyms
    ("it", "stampanti", "printer"),
    ("it", "stampare", "printer"),
    ("it", "stampnte", "printer"),
    ("it", "fatture", "invoice"),
    ("it", "bolletta", "invoice"),
    ("it", "password dell'account", "password"),
    ("it", "connessioni vpn", "vpn"),
    ("it", "piu vicino", "vpn"),
    ("it", "telefoni", "mailbox"),
    # Bulgarian: definite articles, plurals, typos, synonyms
    ("bg", "принтери", "printer"),
    ("bg", "принтера", "printer"),
    ("bg", "принтер", "printer"),
    ("bg", "паролата", "password"),
    ("bg", "пароли", "password"),
    ("bg", "фактури", "invoice"),
    ("bg", "сметка", "invoice"),
    ("bg", "фактурата", "invoice"),
    ("bg", "пршнтер", "printer"),
    ("bg", "телефоните", "mailbox"),
    # Persian: Arabic letter forms, ZWNJ or not, digits, plurals, typos, synonyms
    ("fa", "چاپگرها", "printer"),
    ("fa", "چاپگر‌ها", "printer"),
    ("fa", "صورتحسابها", "invoice"),
    ("fa", "صورتحساب‌ها", "invoice"),
    ("fa", "فاکتور", "invoice"),
    ("fa", "رمز عبور", "password"),
    ("fa", "حساب كاربري", "password"),
    ("fa", "تلفن همراه", "mailbox"),
    ("fa", "اتصال VPN", "vpn"),
    ("fa", "چاپگیر", "printer"),
]
