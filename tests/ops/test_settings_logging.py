"""Production configuration: no default secret, no silent typo; logs as JSON lines when asked."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Callable, Iterator

import pytest

from meeting import cli
from meeting.logging_setup import JsonLinesFormatter, configure_logging, log_format_from_env, logging_config
from meeting.settings import DEV_SECRET, Settings

STRONG_SECRET = "s" * 16 + "-0123456789abcdef"
CONFIG_VARIABLES = (
    "CHIBO_ENV",
    "CHIBO_SECRET_KEY",
    "CHIBO_INVITE_HOURS",
    "CHIBO_ACCESS_TOKEN_MINUTES",
    "CHIBO_LOG_FORMAT",
    "CHIBO_LOG_LEVEL",
    "CHIBO_PUBLIC_URL",
    "CHIBO_NODE_URL",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """dictConfig replaces the root handlers: put back what pytest had, whatever the test did."""
    names = ("", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level) for name in names}
    yield
    for name, (handlers, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.setLevel(level)


# -- secrets ---------------------------------------------------------------------------------------------------------
def test_production_refuses_the_development_secret():
    with pytest.raises(SystemExit, match="CHIBO_SECRET_KEY"):
        Settings(production=True).check()
    assert Settings(production=True).secret_key == DEV_SECRET


def test_production_refuses_a_short_secret():
    with pytest.raises(SystemExit, match="32 characters"):
        Settings(production=True, secret_key="too-short-but-not-default").check()


def test_production_accepts_a_real_secret_and_development_the_default():
    Settings(production=True, secret_key=STRONG_SECRET).check()
    Settings().check()


def test_production_from_the_environment_without_a_secret_refuses(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHIBO_ENV", "production")
    with pytest.raises(SystemExit, match="CHIBO_SECRET_KEY"):
        Settings.from_env()
    monkeypatch.setenv("CHIBO_SECRET_KEY", STRONG_SECRET)
    assert Settings.from_env().production


def test_a_misspelt_environment_is_refused_not_taken_for_development(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHIBO_ENV", "prod")
    with pytest.raises(SystemExit, match="CHIBO_ENV='prod'"):
        Settings.from_env()


@pytest.mark.parametrize("value", ["abc", "0", "-5", ""])
def test_durations_must_be_positive_whole_numbers(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("CHIBO_INVITE_HOURS", value)
    with pytest.raises(SystemExit, match="CHIBO_INVITE_HOURS"):
        Settings.from_env()


def test_serve_in_production_with_the_default_secret_stops_before_listening(
    monkeypatch: pytest.MonkeyPatch, tmp_path, restore_logging
):
    import uvicorn

    def must_not_run(*args, **kwargs):
        raise AssertionError("uvicorn started with a default secret")

    monkeypatch.setattr(uvicorn, "run", must_not_run)
    monkeypatch.setenv("CHIBO_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/never.db")
    with pytest.raises(SystemExit, match="CHIBO_SECRET_KEY"):
        cli.main(["serve", "--port", "1"])
    assert not (tmp_path / "never.db").exists()


def test_demo_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys, restore_logging):
    monkeypatch.setenv("CHIBO_ENV", "production")
    monkeypatch.setenv("CHIBO_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/prod.db")
    assert cli.main(["demo", "--port", "1"]) == 2
    assert "production" in capsys.readouterr().err
    assert not (tmp_path / "prod.db").exists()  # nothing seeded, nothing even opened


# -- this node's address ---------------------------------------------------------------------------------------------
def test_node_url_defaults_to_the_public_url_wherever_that_comes_from(monkeypatch: pytest.MonkeyPatch):
    assert Settings.from_env().node_url == "http://127.0.0.1:8000"
    assert Settings.from_env(public_url=cli.public_url_for("0.0.0.0", 8123)).node_url == "http://127.0.0.1:8123"
    monkeypatch.setenv("CHIBO_PUBLIC_URL", "https://chibo.example.vn/")
    assert Settings.from_env(public_url=cli.public_url_for("0.0.0.0", 8000)).node_url == "https://chibo.example.vn"


def test_node_url_names_this_node_while_invites_keep_the_public_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHIBO_PUBLIC_URL", "https://chibo.example.vn")
    monkeypatch.setenv("CHIBO_NODE_URL", " https://chibo.example.vn/node/b/ ")
    settings = Settings.from_env()
    assert settings.node_url == "https://chibo.example.vn/node/b"
    assert settings.public_url == "https://chibo.example.vn"


@pytest.mark.parametrize(
    "value",
    ["chibo.example.vn/node/a", "/node/a", "ftp://chibo.example.vn", "https://", "http://h:port/", "https://h/?n=a"],
)
def test_a_node_url_that_is_not_an_absolute_http_address_is_refused(monkeypatch: pytest.MonkeyPatch, value: str):
    monkeypatch.setenv("CHIBO_NODE_URL", value)
    with pytest.raises(SystemExit, match=r"CHIBO_NODE_URL=.*absolute http"):
        Settings.from_env()


def test_production_wants_an_https_node_url(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CHIBO_ENV", "production")
    monkeypatch.setenv("CHIBO_SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("CHIBO_PUBLIC_URL", "https://chibo.example.vn")
    monkeypatch.setenv("CHIBO_NODE_URL", "http://chibo.example.vn/node/a")
    with pytest.raises(SystemExit, match="must be https in production"):
        Settings.from_env()
    monkeypatch.setenv("CHIBO_NODE_URL", "https://chibo.example.vn/node/a")
    assert Settings.from_env().node_url == "https://chibo.example.vn/node/a"
    monkeypatch.delenv("CHIBO_NODE_URL")  # the default follows the public URL, which has its own warning
    monkeypatch.setenv("CHIBO_PUBLIC_URL", "http://10.0.0.5:8000")
    assert Settings.from_env().node_url == "http://10.0.0.5:8000"


def test_serve_with_a_bad_node_url_stops_before_listening(monkeypatch: pytest.MonkeyPatch, tmp_path, restore_logging):
    import uvicorn

    def must_not_run(*args, **kwargs):
        raise AssertionError("uvicorn started with an address clients cannot follow")

    monkeypatch.setattr(uvicorn, "run", must_not_run)
    monkeypatch.setenv("CHIBO_NODE_URL", "node-a:8000")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/never.db")
    with pytest.raises(SystemExit, match="CHIBO_NODE_URL='node-a:8000'"):
        cli.main(["serve", "--port", "1"])
    assert not (tmp_path / "never.db").exists()


# -- logging ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def json_logger() -> Iterator[Callable[[str], tuple[logging.Logger, io.StringIO]]]:
    """A logger writing JSON lines into a string; its handlers and settings are put back afterwards."""
    touched: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []

    def make(name: str) -> tuple[logging.Logger, io.StringIO]:
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonLinesFormatter())
        logger = logging.getLogger(name)
        touched.append((logger, logger.handlers[:], logger.propagate, logger.level))
        logger.handlers[:] = [handler]
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        return logger, stream

    yield make
    for logger, handlers, propagate, level in touched:
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


def test_json_lines_one_object_per_record_with_extra_fields_and_vietnamese_kept(json_logger):
    logger, stream = json_logger("chibo.test.json")
    logger.info("Đảng viên %s đã vào họp\ndòng thứ hai", "Nguyễn Văn An", extra={"meeting_id": 7})
    try:
        raise ValueError("hỏng")
    except ValueError:
        logger.exception("lỗi khi ghi biên bản")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # the newline inside the first message stays inside its JSON string
    first, second = (json.loads(line) for line in lines)
    assert first["message"] == "Đảng viên Nguyễn Văn An đã vào họp\ndòng thứ hai"
    assert "Nguyễn" in lines[0]  # not \u-escaped: readable in a plain log viewer
    assert first["level"] == "info" and first["logger"] == "chibo.test.json" and first["meeting_id"] == 7
    assert first["ts"].endswith("+00:00")
    assert second["level"] == "error" and "ValueError: hỏng" in second["exception"]


def test_json_access_lines_carry_method_path_and_status_as_fields(json_logger):
    logger, stream = json_logger("uvicorn.access")
    logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/readyz", "1.1", 200)
    entry = json.loads(stream.getvalue())
    assert entry["method"] == "GET" and entry["path"] == "/readyz" and entry["status"] == 200
    assert entry["message"] == '127.0.0.1:5000 - "GET /readyz HTTP/1.1" 200'


def test_configured_json_logging_reaches_stderr_for_ours_and_uvicorns(capsys, restore_logging):
    configure_logging("json", "info")
    logging.getLogger("chibo.live").info("hub started")
    logging.getLogger("uvicorn.error").warning("slow start")
    logging.getLogger("chibo.live").debug("not at info level")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("chibo.live", "hub started"),
        ("uvicorn.error", "slow start"),
    ]


def test_text_is_the_default_and_unknown_formats_are_refused(monkeypatch: pytest.MonkeyPatch):
    assert log_format_from_env() == "text"
    assert "format" in logging_config("text")["formatters"]["chibo"]
    monkeypatch.setenv("CHIBO_LOG_FORMAT", "JSON")
    assert log_format_from_env() == "json"
    monkeypatch.setenv("CHIBO_LOG_FORMAT", "xml")
    with pytest.raises(SystemExit, match="CHIBO_LOG_FORMAT='xml'"):
        log_format_from_env()
