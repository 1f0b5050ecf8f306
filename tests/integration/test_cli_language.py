"""The command line refuses in its user's language: ``OCOP_LANG``, else ``LANG``
(``vi_VN.UTF-8`` → Vietnamese, ``en_US.UTF-8`` → English, ``C`` or unset → Vietnamese), with
the same exit codes whatever the language; ``--json`` prints the refusal as JSON with its code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.cli_support import Ocop, open_cli, register
from tests.unit.lifecycle_support import assert_one_sentence

OCOP = str(Path(sys.executable).with_name("ocop"))


@pytest.fixture
def ocop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Ocop:
    return open_cli(tmp_path, monkeypatch, capsys)


def speak(monkeypatch: pytest.MonkeyPatch, ocop_lang: str | None, lang: str | None) -> None:
    for name, value in (("OCOP_LANG", ocop_lang), ("LANG", lang)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)


@pytest.mark.parametrize(("ocop_lang", "lang"), [
    (None, "vi_VN.UTF-8"), (None, "C.UTF-8"), (None, None), ("vi", "en_US.UTF-8")])
def test_a_refusal_is_in_vietnamese_for_a_vietnamese_or_unset_locale(
        ocop: Ocop, monkeypatch: pytest.MonkeyPatch, ocop_lang: str | None,
        lang: str | None) -> None:
    """Wrong state in Vietnamese: exit 4, one line, the states and actions by their
    Vietnamese labels, no English and no code of a state or trigger."""
    code = register(ocop)
    speak(monkeypatch, ocop_lang, lang)
    result = ocop("cases", "advance", code, "start_review", "--as", "commune1")
    assert result.code == 4 and result.out == ""
    (line,) = result.err.strip().splitlines()
    assert line == (f"Lỗi: Hồ sơ {code} đang ở trạng thái “Bản nháp”; thao tác “Bắt đầu đánh "
                    "giá” chỉ thực hiện được khi hồ sơ ở trạng thái “Đã đăng ký”, “Đánh giá "
                    "lại”; từ trạng thái “Bản nháp”, lúc này chỉ có thể thực hiện: “Nộp hồ "
                    "sơ”, “Rút hồ sơ”.")


@pytest.mark.parametrize(("ocop_lang", "lang"), [("en", "vi_VN.UTF-8"), (None, "en_US.UTF-8")])
def test_ocop_lang_en_or_an_english_locale_refuses_in_english(
        ocop: Ocop, monkeypatch: pytest.MonkeyPatch, ocop_lang: str | None, lang: str) -> None:
    """``OCOP_LANG=en`` wins over a Vietnamese ``LANG``; an English ``LANG`` alone is enough."""
    code = register(ocop)
    speak(monkeypatch, ocop_lang, lang)
    line = ocop.refused(4, "cases", "advance", code, "start_review", "--as", "commune1")
    assert line.startswith(f"error: Case {code} is in state “Draft”; “Start the review” is "
                           "allowed only from")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_bad_input_exits_2_in_either_language(ocop: Ocop, monkeypatch: pytest.MonkeyPatch,
                                              lang: str) -> None:
    """An unknown product group is invalid input (exit 2) in both languages, naming what was
    typed and the groups allowed, each as the code to type and its words."""
    speak(monkeypatch, lang, None)
    result = ocop("cases", "register", "--as", "producer1", "--producer", "1",
                  "--product", "x", "--group", "pottery")
    assert result.code == 2 and result.out == ""
    (line,) = result.err.strip().splitlines()
    prefix, group = {"vi": ("Lỗi: Nhóm sản phẩm \"pottery\" không có trong", "food (Thực phẩm)"),
                     "en": ('error: Unknown product group "pottery" under', "food (Food)")}[lang]
    assert line.startswith(prefix) and group in line
    assert_one_sentence(line.split(": ", 1)[1])


def test_json_output_prints_the_refusal_as_json_with_its_code(
        ocop: Ocop, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``--json`` the refusal on stderr is one JSON object: code, kind, the sentence in the
    user's language and the parameters as codes; the exit code is the same."""
    code = register(ocop)
    speak(monkeypatch, None, "vi_VN.UTF-8")
    result = ocop("cases", "advance", code, "start_review", "--as", "commune1", "--json")
    assert result.code == 4 and result.out == ""
    error = json.loads(result.err)["error"]
    assert error["code"] == "wrong_state" and error["kind"] == "wrong_state"
    assert error["message"].startswith(f"Hồ sơ {code} đang ở trạng thái “Bản nháp”")
    assert error["params"]["state"] == "draft" and error["params"]["trigger"] == "start_review"


def test_the_installed_script_reads_lang_from_its_environment(tmp_path: Path) -> None:
    """The real ``ocop`` in a subprocess: ``LANG=vi_VN.UTF-8`` gives a Vietnamese refusal,
    ``OCOP_LANG=en`` an English one, both exiting 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_HOME=str(tmp_path), OCOP_DATABASE_URL=f"sqlite:///{tmp_path / 'o.db'}")
    args = [OCOP, "cases", "advance", "X", "submit", "--as", "p", "--data", "[1]"]
    vi = subprocess.run(args, env={**env, "LANG": "vi_VN.UTF-8"}, capture_output=True,
                        text=True, timeout=60, check=False)
    en = subprocess.run(args, env={**env, "LANG": "vi_VN.UTF-8", "OCOP_LANG": "en"},
                        capture_output=True, text=True, timeout=60, check=False)
    assert (vi.returncode, en.returncode) == (2, 2)
    assert vi.stderr.strip() == 'Lỗi: --data phải là một đối tượng JSON, ví dụ {"sheets": [...]}.'
    assert en.stderr.strip() == 'error: --data must be a JSON object such as {"sheets": [...]}.'
