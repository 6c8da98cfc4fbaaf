"""The web front's rules below the browser: its forms, its signed links, its languages."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from starlette.datastructures import FormData

from web_front import forms, i18n, labels
from web_front.links import BadLink, ExpiredLink, RatingLinks

WEB = Path(__file__).resolve().parents[2] / "web_front"


def test_lookup_names_each_wrong_field_and_keeps_the_values():
    form = forms.lookup_form({"case_number": " 2026120300001 ", "phone_last4": "12a4"})
    assert list(form.errors) == ["case_number", "phone_last4"]
    assert form.values == {"case_number": "2026120300001", "phone_last4": "12a4"}
    assert forms.lookup_form({"case_number": "202612030000001", "phone_last4": "1234"}).ok


def test_a_complaint_needs_its_text_a_phone_and_a_case_or_a_department():
    form = forms.complaint_form({"text": "", "contact_phone": "12"})
    assert set(form.errors) == {"text", "contact_phone", "case_number"}
    ok = forms.complaint_form({"department": "civil_affairs", "text": "窗口无人", "contact_phone": "139 0000 1234"})
    assert ok.ok
    assert not forms.complaint_form({"case_number": "123", "text": "x", "contact_phone": "13900001234"}).ok


def test_a_rating_keeps_only_the_offered_tags():
    form, tags = forms.rating_form(FormData([("level", "2"), ("tag", "等候时间长"), ("tag", "<script>")]))
    assert form.ok and tags == ["等候时间长"]
    assert not forms.rating_form(FormData([("level", "6")]))[0].ok


def test_a_password_change_needs_the_new_password_twice():
    form = forms.password_form({"staff_number": "SX0001", "current_password": "a", "new_password": "b1234567890",
                                "repeat_password": "b1234567891"})
    assert list(form.errors) == ["repeat_password"]


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


def test_a_rating_link_names_its_case_until_it_expires():
    clock = Clock()
    links = RatingLinks("k" * 32, "https://hall.example/", days=30, clock=clock)
    url = links.url("202612030000001")
    assert url.startswith("https://hall.example/rate/")
    token = url.rsplit("/", 1)[1]
    clock.now += 30 * 86400
    assert links.case_of(token) == "202612030000001"
    clock.now += 2
    with pytest.raises(ExpiredLink):
        links.case_of(token)


def test_an_altered_or_foreign_link_is_refused():
    links = RatingLinks("k" * 32, "https://hall.example", days=30)
    token = links.path("202612030000001").rsplit("/", 1)[1]
    with pytest.raises(BadLink):
        links.case_of(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with pytest.raises(BadLink):
        RatingLinks("x" * 32, "https://hall.example", days=30).case_of(token)


def _texts() -> set[str]:
    """Every text the pages show: the templates' _() and the Chinese literals they give their macros
    (labels, hints, captions, buttons), and the Chinese texts of every page module (messages, labels)."""
    found = {found[2] for found in extract_from_dir(
        str(WEB / "templates"), method_map=[("**.html", "jinja2")])}
    for path in (WEB / "templates").glob("*.html"):
        for block in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", path.read_text(), re.S):
            found |= {double or single for double, single in re.findall(
                r'"([^"\n]*[\u4e00-\u9fff][^"\n]*)"|\'([^\'\n]*[\u4e00-\u9fff][^\'\n]*)\'', block)}
    found -= {"中文"}  # the language switch names Chinese in Chinese, whatever the page's language
    for module in WEB.glob("*.py"):  # every page module: its messages, labels, titles
        source = re.sub(r'"""[\s\S]*?"""', "", module.read_text())  # docstrings are not shown
        # an f-string is data (a default name), never a text looked up in the catalogue
        found |= set(re.findall(r'(?<![fF])"([^"\n]*[\u4e00-\u9fff][^"\n]*)"', source))
    return {t for t in found if isinstance(t, str)}


def test_every_text_of_the_pages_has_its_english():
    i18n.use("en")
    try:
        missing = sorted(t for t in _texts() if i18n.gettext_(t) == t)
    finally:
        i18n.use("zh-CN")
    assert missing == []


def test_every_post_is_named_in_english():
    from hall.staff import PostKind

    i18n.use("en")
    try:
        assert [k.label for k in PostKind if i18n.gettext_(k.label) == k.label] == []
    finally:
        i18n.use("zh-CN")


def test_the_labels_cover_every_status_a_case_takes():
    from hall.domain import CaseStatus, ResultCode

    assert set(labels.CASE_STATUS) == {s.value for s in CaseStatus}
    assert set(labels.RESULT) == {r.value for r in ResultCode}


def test_chinese_unless_english_is_chosen():
    assert i18n.choose(None, None) == "zh-CN"
    assert i18n.choose("en", None) == "en"
    assert i18n.choose(None, "en") == "en"
    assert i18n.choose("fr", "zh-CN") == "zh-CN"


def test_an_apis_reason_is_put_in_a_message_translated_first():
    i18n.use("en")
    try:
        shown = i18n.gettext_(i18n.said("未能办理：%(why)s", why="warning 7 was withdrawn"))
    finally:
        i18n.use("zh-CN")
    assert shown == "Not done: warning 7 was withdrawn"
    assert i18n.gettext_(i18n.said("未能办理：%(why)s", why="已撤销")) == "未能办理：已撤销"
