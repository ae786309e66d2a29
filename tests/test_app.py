"""The application factory: what a started bot has set up."""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import build_application
from bot.config import Config
from tests.fakes import FakeBotApi
from tests.harness import Clock


async def test_one_scheduler_job_whatever_is_pending(config: Config, clock: Clock) -> None:
    app = build_application(config, request=FakeBotApi(), clock=clock, rate_limit=False)
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        assert app.job_queue is not None
        jobs = app.job_queue.jobs()
        assert [job.name for job in jobs] == ["dispatcher"]
        trigger = jobs[0].trigger
        assert isinstance(trigger, IntervalTrigger)
        assert trigger.interval.total_seconds() == config.delivery.interval_seconds
    finally:
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()
