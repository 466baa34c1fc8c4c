"""Settings from the environment: defaults, parsing, and a clear error naming a bad variable."""

import pytest

from bot.settings import DEFAULT_WEB_PORT, RedisAddress, Settings, SettingsError


def test_defaults_need_no_environment() -> None:
    """`make run` works with nothing set."""
    settings = Settings.from_env({})
    assert settings.web_port == DEFAULT_WEB_PORT
    assert settings.redis == RedisAddress("127.0.0.1", 6379, 0, "")
    assert settings.rasa_token is None


def test_rasa_url_follows_rasa_port() -> None:
    """Moving Rasa to another port moves where the web app looks for it."""
    assert Settings.from_env({"RASA_PORT": "6000"}).rasa_url == "http://127.0.0.1:6000"


def test_redis_url_is_split_for_rasa() -> None:
    """Rasa's endpoints.yml takes host, port, db and password, not a URL."""
    address = Settings.from_env({"REDIS_URL": "redis://:s3cret@cache.internal:6380/2"}).redis
    assert address == RedisAddress("cache.internal", 6380, 2, "s3cret")
    assert address.url == "redis://:s3cret@cache.internal:6380/2"


@pytest.mark.parametrize(
    "env, name",
    [
        pytest.param({"WEB_PORT": "eighty"}, "WEB_PORT", id="not-a-number"),
        pytest.param({"TRACKER_EXPIRY_SECONDS": "0"}, "TRACKER_EXPIRY_SECONDS", id="zero"),
        pytest.param({"REDIS_URL": "http://localhost"}, "REDIS_URL", id="wrong-scheme"),
        pytest.param({"REDIS_URL": "redis://localhost/db"}, "REDIS_URL", id="bad-db"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(env, name) -> None:
    """Start-up stops with a message naming the variable to fix."""
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)
