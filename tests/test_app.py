"""The application factory: what a started bot has set up."""

from __future__ import annotations

from apscheduler.triggers.interval import IntervalTrigger

from bot.app import build_application
from bot.config import Config
from bot.housekeeping import CHORES
from tests.fakes import FakeBotApi
from tests.harness import Clock


async def test_one_scheduler_job_whatever_is_pending(config: Config, clock: Clock) -> None:
    app = build_application(config, request=FakeBotApi(), clock=clock)
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        assert app.job_queue is not None
        intervals = {}
        for job in app.job_queue.jobs():
            assert isinstance(job.trigger, IntervalTrigger)
            intervals[job.name] = job.trigger.interval.total_seconds()
        # The engine's job, and one job per housekeeping chore with its own interval.
        assert intervals == {
            "dispatcher": config.delivery.interval_seconds,
            **{f"housekeeping:{chore.name}": chore.every_seconds for chore in CHORES},
        }
    finally:
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        await app.shutdown()
