"""Sign-in redirects: `next` may only name a path on this site."""

import pytest

from maxxit_ui.state.paths import safe_next_path, signin_url


@pytest.mark.parametrize(
    "raw",
    ["/my-agents", "/agents/7/edit", "/admin/audit?action=auth.sign_in&page=2", "/marketplace#top", "/"],
)
def test_same_site_paths_are_kept(raw):
    assert safe_next_path(raw) == raw


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "   ",
        "my-agents",
        "https://evil.example/x",
        "//evil.example/x",
        "/\\evil.example",
        "/\\/evil.example",
        "/ok\\..\\x",
        "javascript:alert(1)",
        "/\tevil",
        "/x\r\nSet-Cookie: a=b",
        "/signin",
        "/signin/?next=/x",
        "/" + "a" * 600,
    ],
)
def test_anything_else_goes_home(raw):
    assert safe_next_path(raw) == "/"


def test_signin_url_carries_the_path_back():
    assert signin_url("/agents/3/edit") == "/signin?next=/agents/3/edit"
    assert signin_url("/admin/audit?page=2&action=x") == "/signin?next=/admin/audit%3Fpage%3D2%26action%3Dx"
    assert signin_url("//evil.example") == "/signin"
    assert signin_url("/") == "/signin"
