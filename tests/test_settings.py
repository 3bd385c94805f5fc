"""The settings: one table, read from the environment, and the README's table kept true."""

import re
from pathlib import Path

import pytest

from app import settings

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_rows() -> dict[str, str]:
    """Each row of the tables in the README's `## Settings` section, by its variable."""
    text = README.read_text()
    section = text.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \|(.*)$", section, flags=re.MULTILINE)
    return dict(rows)


def test_every_setting_is_in_the_readme_with_its_default_and_nothing_else_is():
    rows = readme_rows()
    assert sorted(rows) == sorted(env for env, _, _ in settings.table())
    for env, default, _ in settings.table():
        assert default in rows[env], f"README: {env}'s default is {default}"


def test_settings_come_from_their_variables():
    s = settings.load(
        {
            "BACKPROP_LAB_DB": "a.db",
            "REDIS_URL": "redis://r:1/0",
            "BACKPROP_LAB_HISTORY": "5",
            "BACKPROP_LAB_EXPIRE_DAYS": "1.5",
            "BACKPROP_LAB_CACHE": "7",
            "BACKPROP_LAB_LOG_LEVEL": "DEBUG",
            "BACKPROP_LAB_ROOT": "/srv",
        }
    )
    assert (s.db, s.redis_url, s.history, s.expire_days, s.cache) == (
        "a.db",
        "redis://r:1/0",
        5,
        1.5,
        7,
    )
    assert (s.log_level, s.root) == ("debug", "/srv")
    assert settings.load({}) == settings.Settings()


@pytest.mark.parametrize("env", ["BACKPROP_LAB_HISTORY", "BACKPROP_LAB_LOG_LEVEL"])
def test_a_bad_value_stops_the_server_naming_its_variable(env):
    with pytest.raises(SystemExit, match=env):
        settings.load({env: "lots"})


@pytest.mark.parametrize(
    "env", ["BACKPROP_LAB_TRAIN_WORKERS", "BACKPROP_LAB_TRAIN_QUEUE", "BACKPROP_LAB_MAX_BODY"]
)
@pytest.mark.parametrize("value", ["0", "-1", "2.5"])
def test_counts_and_sizes_are_whole_numbers_from_one(env, value):
    with pytest.raises(SystemExit, match=env):
        settings.load({env: value})
