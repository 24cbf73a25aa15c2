import pytest

from helpdesk.auth.policies import can
from helpdesk.extensions import db
from helpdesk.people.models import LoginThrottle, Role
from helpdesk.people.services import update_user

PASSWORD = "correct-horse-battery"


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/login" + extra.pop("query", ""), data={"email": email, "password": password}, **extra)


def test_sign_in_and_out(client, make_user):
    user = make_user()
    response = sign_in(client, user.email.upper())
    assert response.status_code == 302 and response.headers["Location"].endswith("/cases")
    assert client.get("/cases").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/cases").status_code == 302


def test_wrong_password_is_401_and_says_so(client, make_user):
    user = make_user()
    response = sign_in(client, user.email, "nope-nope-nope")
    assert response.status_code == 401 and "Wrong email or password." in response.get_data(as_text=True)


def test_repeated_failures_lock_the_account_even_with_the_right_password(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user()
    for _ in range(3):
        assert sign_in(client, user.email, "wrong-password!").status_code == 401
    response = sign_in(client, user.email)
    assert response.status_code == 429 and "Too many failed sign-ins" in response.get_data(as_text=True)
    assert db.session.get(LoginThrottle, f"email:{user.email}").locked_until is not None


def test_unknown_accounts_are_throttled_too(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 2)
    for _ in range(2):
        sign_in(client, "ghost@nowhere.example", "whatever-it-is")
    assert sign_in(client, "ghost@nowhere.example", "whatever-it-is").status_code == 429


def test_success_clears_the_account_counter(app, client, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 3)
    user = make_user()
    sign_in(client, user.email, "wrong-password!")
    sign_in(client, user.email, "wrong-password!")
    assert sign_in(client, user.email).status_code == 302
    assert db.session.get(LoginThrottle, f"email:{user.email}") is None


def test_next_only_goes_to_our_own_pages(client, make_user):
    user = make_user()
    response = sign_in(client, user.email, query="?next=/cases/board")
    assert response.headers["Location"].endswith("/cases/board")
    client.post("/logout")
    response = sign_in(client, user.email, query="?next=//evil.example/x")
    assert "evil" not in response.headers["Location"]


def test_deactivating_or_new_password_ends_existing_sessions(client, make_user, login):
    admin, user = make_user("admin"), make_user()
    login(user)
    update_user(admin, user, name=user.name, role=Role.AGENT, active=True, groups=[], password="another-long-password")
    db.session.commit()
    assert client.get("/cases").status_code == 302


def test_inactive_user_cannot_sign_in(client, make_user):
    user = make_user()
    user.active = False
    assert sign_in(client, user.email).status_code == 401


def test_forms_and_htmx_requests_need_the_csrf_token(app, client, make_user, monkeypatch, make_case):
    user = make_user()
    case = make_case(user)
    sign_in(client, user.email)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/cases/{case.id}/note", data={"body": "no token"}, headers={"HX-Request": "true"})
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page


@pytest.mark.parametrize(
    "role,action,allowed",
    [
        ("agent", "case.reply", True),
        ("agent", "case.reopen_closed", False),
        ("agent", "admin.users", False),
        ("manager", "insights.view", True),
        ("manager", "admin.groups", False),
        ("admin", "admin.custom_fields", True),
    ],
)
def test_permissions_follow_the_role(make_user, role, action, allowed):
    assert can(make_user(role), action) is allowed


def test_unknown_permission_is_a_programming_error(make_user):
    with pytest.raises(KeyError):
        can(make_user(), "case.teleport")


def test_nobody_signed_in_may_do_anything():
    assert can(None, "case.view") is False
