"""CI runs on PostgreSQL, Redis and RabbitMQ; tests that need them skip elsewhere. These make
sure a CI run that lost its database or a broker goes red instead of quietly skipping them."""

import os

import pytest
import redis
from django.db import connection


@pytest.mark.skipif(not os.environ.get("REQUIRE_POSTGRES"), reason="REQUIRE_POSTGRES not set")
def test_ci_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"


@pytest.mark.skipif(not os.environ.get("REQUIRE_REDIS"), reason="REQUIRE_REDIS not set")
def test_ci_redis_answers() -> None:
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    assert redis.Redis.from_url(url).ping()


@pytest.mark.skipif(not os.environ.get("REQUIRE_RABBITMQ"), reason="REQUIRE_RABBITMQ not set")
def test_ci_rabbitmq_answers() -> None:
    from tests.delivery.harness import RABBITMQ_URL, rabbitmq_reachable

    assert rabbitmq_reachable(), f"no RabbitMQ at {RABBITMQ_URL} (TEST_RABBITMQ_URL)"
