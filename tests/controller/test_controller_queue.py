"""Many users at once: every job finishes, the cap on running containers holds, turns are fair."""

from __future__ import annotations

import asyncio
import threading
import time

import docker
import pytest

from controller import Controller, JobQueued, TrainRequest
from controller._backend import LABEL_DATA_DIR, LABEL_JOB_ID
from store import JobState

pytestmark = pytest.mark.docker

USERS = [f"user{n}" for n in range(5)]
JOBS_PER_USER = 4


class _RunningWatcher(threading.Thread):
    """Polls `docker ps` for this data dir's running job containers; keeps the highest count."""

    def __init__(self, client: docker.DockerClient, data_dir: str) -> None:
        super().__init__(daemon=True)
        self._client, self._filters = client, {"label": [LABEL_JOB_ID, f"{LABEL_DATA_DIR}={data_dir}"]}
        self.most = 0
        self.polls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            running = self._client.containers.list(filters=self._filters)  # running ones only
            self.most = max(self.most, len(running))
            self.polls += 1
            time.sleep(0.05)


@pytest.mark.parametrize("settings", [{"queue": {"max_running": 2}}], indirect=True, ids=["cap2"])
async def test_twenty_jobs_from_five_users_share_the_slots_fairly(
    settings, store, upload, regression_frame, docker_client, job_containers
) -> None:
    datasets = {user: upload(user, regression_frame(30, seed=n)) for n, user in enumerate(USERS)}
    watcher = _RunningWatcher(docker_client, str(settings.data_dir))
    watcher.start()
    try:
        async with Controller(settings=settings, store=store) as controller:
            # Each user's jobs one after another, as the most demanding user would send them.
            tasks = [
                TrainRequest(
                    user_id=user, model_type="linear", dataset_id=datasets[user].dataset_id, target_column="price"
                )
                for user in USERS
                for _ in range(JOBS_PER_USER)
            ]
            handles = await asyncio.gather(*(controller.submit(task) for task in tasks))
            first_positions = {}
            for handle in handles:
                async for event in handle.events():
                    first_positions[handle.job_id] = event
                    break
            outcomes = await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 300)
    finally:
        watcher.stop.set()
        watcher.join()

    assert all(o.job.state == JobState.SUCCEEDED for o in outcomes)
    assert {o.model.user_id for o in outcomes} == set(USERS)
    assert watcher.polls > 20 and watcher.most == settings.queue.running_cap

    jobs = sorted((o.job for o in outcomes), key=lambda job: job.started_at)
    starts = [job.user_id for job in jobs]
    assert sorted(starts[:5]) == USERS, f"the first round was not one job per user: {starts}"
    for user in USERS:
        third_of_user = [i for i, who in enumerate(starts) if who == user][2]
        assert set(starts[:third_of_user]) == set(USERS), f"{user} got a third turn early: {starts}"
    # Waiting jobs were told their place in line.
    assert sum(isinstance(event, JobQueued) and event.position > 0 for event in first_positions.values()) >= 15
    # Never more containers at once than the cap, by the jobs' own records as well.
    moments = sorted([(j.started_at, 1) for j in jobs] + [(j.finished_at, -1) for j in jobs])
    running = peak = 0
    for _, step in moments:
        running += step
        peak = max(peak, running)
    assert peak <= settings.queue.running_cap
    assert not job_containers()


async def test_an_upload_is_read_while_the_same_users_training_runs(
    settings, store, upload, regression_frame, job_containers
) -> None:
    dataset = upload("uma", regression_frame(20_000))
    async with Controller(settings=settings, store=store) as controller:
        training = await controller.submit(
            TrainRequest(
                user_id="uma",
                model_type="random_forest",
                dataset_id=dataset.dataset_id,
                target_column="price",
                hyperparameters={"n_estimators": 300},
            )
        )
        async for event in training.events():
            if type(event).__name__ == "JobStarted":
                break
        # Uploads wait in a line of their own: not behind the user's running training.
        reading = await controller.submit_upload(user_id="uma", filename="more.csv", data=b"a,b\n1,2\n3,4\n")
        outcome = await reading.result()
        assert outcome.dataset is not None and outcome.dataset.summary.rows == 2
        assert store.get_job(user_id="uma", job_id=training.job_id).state == JobState.RUNNING
        await controller.cancel(job_id=training.job_id, user_id="uma")
    assert not job_containers()
