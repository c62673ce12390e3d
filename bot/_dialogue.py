"""The dialogue core: one conversation state machine per user, whatever the transport.

`Dialogue.handle` takes one user action and answers through a `Sink`. Jobs never block it:
a submitted job is followed by a background task that edits one status message and then
sends the result. After a start, `Dialogue.resume` tells the chats what a restart did to
their jobs and follows the jobs it kept.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot._coefficients import coefficient_replies, significant_terms, stored_inference, term_answers
from bot._format import (
    HELP_INTRO,
    clip,
    format_datasets,
    format_jobs,
    format_model,
    format_models,
    format_prediction,
    format_retrain,
    format_summary,
    format_training,
    model_label,
)
from bot._compare import (
    CompareRequest,
    TuneRequest,
    compare_command,
    compare_request,
    format_leaderboard,
    format_tuning,
    status_line,
    tune_command,
    tune_request,
)
from bot._explore_format import explore_caption, explore_header, explore_subject, format_explore
from bot.parsing._columns import match_column
from bot._messages import Button, Document, Incoming, Photo, Sink, Text, Upload, upload_limit
from bot._status import StatusMessage
from bot.parsing import (
    Draft,
    Intent,
    Parser,
    Question,
    TableInfo,
    answer,
    closest,
    follow_up,
    make_parser,
    resolve,
    to_explore,
    to_task,
)
from config import Settings
from errors import CostError, JobError, StatAgentError
from config.log import get_logger
from controller import Controller, JobEvent, JobHandle, JobOutcome, JobProgress, JobQueued, JobSaved, JobStarted
from controller._compare import start_comparison
from controller.task import PredictRequest, Task, TrainRequest, retrain_task
from runner.spec import ModelType, Result
from store import DatasetRecord, JobKind, JobRecord, Store

__all__ = ["Dialogue", "open_dialogue"]

log = get_logger(__name__)

# Buttons under a question; longer option lists are typed.
MAX_BUTTONS = 12
_BUTTON_LABEL = 40
_CANCEL = "cancel"
_ANSWER = "q"  # q:<question serial>:<option index>
_DELETE = "del"  # del:<model id>
_KEEP = "keep"  # keep:<model id>
_DELETE_TABLE = "dsdel"  # dsdel:<dataset id>
_KEEP_TABLE = "dskeep"  # dskeep:<dataset id>
_OFFER = "cost"  # cost:<offer serial>:<offer index>
_COMPARE = "cmp"  # cmp:<dataset id>:<column index>:<named models' _MODEL_ORDER indices, dot-separated>
_MODEL_ORDER = tuple(ModelType)

_SORRY = StatAgentError.default_user_message

# The sink of a job's chat, or None when the transport cannot reach that chat.
SinkFor = Callable[[JobRecord], Sink | None]


@asynccontextmanager
async def open_dialogue(settings: Settings, *, store: Store) -> AsyncIterator[Dialogue]:
    """The dialogue core with a started controller and the configured parser, closed on exit.

    Every transport (Telegram, the terminal chat, the demo) serves its users through this.
    """
    async with Controller(settings=settings, store=store) as controller:
        dialogue = Dialogue(
            settings=settings,
            store=store,
            controller=controller,
            parser=make_parser(settings.anthropic, store=store),
        )
        try:
            yield dialogue
        finally:
            await dialogue.close()


@dataclass
class _Question:
    """The question being asked (the draft's first); `serial` ties its buttons to it."""

    draft: Draft
    serial: int


@dataclass(frozen=True)
class _Offer:
    """A training refused for its cost, and the changes that would fit (buttons `serial`)."""

    task: TrainRequest
    changes: tuple[dict[str, object], ...]
    serial: int


@dataclass
class _Chat:
    """One user's conversation."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    dataset: DatasetRecord | None = None
    question: _Question | None = None
    last_request: Draft | None = None  # the last training request sent as a job, for follow-up edits
    offer: _Offer | None = None  # what would fit instead of a training refused for its cost
    running_jobs: set[str] = field(default_factory=set)


class Dialogue:
    """The bot's logic: commands, uploads, questions, jobs and their results."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        controller: Controller,
        parser: Parser,
        status_interval: float = 1.0,
    ) -> None:
        self._settings = settings
        self._store = store
        self._controller = controller
        self._parser = parser
        self._status_interval = status_interval
        self._chats: dict[str, _Chat] = {}
        self._serial = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, message: Incoming, sink: Sink) -> None:
        """Answer one user action. Never raises for anything the user did."""
        chat = self._chats.setdefault(message.user_id, _Chat())
        async with chat.lock:
            try:
                if message.document is not None:
                    await self._on_upload(message, chat, sink, message.document)
                elif message.button is not None:
                    await self._on_button(message, chat, sink, message.button)
                elif message.text and message.text.strip():
                    await self._on_text(message, chat, sink, message.text.strip())
            except StatAgentError as exc:
                log.info("request_refused", user_id=message.user_id, error=str(exc))
                await sink.send(Text(exc.user_message))
            except Exception:
                log.exception("request_failed", user_id=message.user_id)
                await sink.send(Text(_SORRY))

    @property
    def busy(self) -> bool:
        """True while a job this dialogue follows has not sent its result yet."""
        return bool(self._tasks)

    async def drain(self) -> None:
        """Wait until every job followed so far has sent its result."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop following jobs (they keep running in the controller)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def resume(self, sink_for: SinkFor) -> None:
        """After a start: tell the chats whose jobs a restart stopped, follow the jobs it kept.

        `sink_for(job)` reaches the job's chat (`job.chat_id`); a chat it returns None for is
        left for a transport that can reach it. Call once, when the transport can send and
        before any user's message is handled. One job's trouble is logged, never raised.
        """
        # Taken first: a kept job may end while the news goes out, and its handle still tells how.
        kept = self._controller.live_jobs()
        for job in await asyncio.to_thread(self._store.unannounced_interrupted_jobs):
            await self._announce(job, sink_for)
        for handle in kept:
            await self._follow_kept(handle, sink_for)

    # -- restarts ------------------------------------------------------------------------

    async def _announce(self, job: JobRecord, sink_for: SinkFor) -> None:
        """Tell a job's chat, once, that a restart stopped the job."""
        if job.chat_id is not None:  # None: stopped before jobs knew their chat; nobody to tell
            sink = sink_for(job)
            if sink is None:
                return
            try:
                await sink.send(Text(_restart_news(job)))
            except Exception:  # told at the next start instead
                log.warning("restart_news_failed", job_id=job.job_id, exc_info=True)
                return
        await asyncio.to_thread(self._store.update_job, job.job_id, announced=True)

    async def _follow_kept(self, handle: JobHandle, sink_for: SinkFor) -> None:
        """Follow a job a restart kept queued as if it had been submitted in this run."""
        job = handle.record
        sink = None if job.chat_id is None else sink_for(job)
        if sink is None:
            return
        try:
            header = await self._header(job)
            chat = self._chats.setdefault(job.user_id, _Chat())
            news = f"⏳ Kept through a restart as {job.job_id}"
            await self._watch(handle, chat, sink, header=header, news=news)
        except Exception:
            log.exception("resume_follow_failed", job_id=job.job_id)

    async def _header(self, job: JobRecord) -> str:
        """A kept job's status header, as `_train`, `_predict` and `_on_upload` wrote it."""
        match job.kind:
            case JobKind.TRAIN:
                return _train_header(job.spec.get("model_type"), str(job.spec.get("target_column", "")))
            case JobKind.PREDICT:
                dataset = await asyncio.to_thread(
                    self._store.get_dataset, user_id=job.user_id, dataset_id=job.dataset_id or ""
                )
                return _predict_header(job.model_id or "", dataset.filename)
            case JobKind.INGEST:
                return _upload_header(str(job.spec.get("filename", "")))
            case JobKind.EXPLORE:
                return explore_header(job.spec)

    # -- uploads -------------------------------------------------------------------------

    async def _on_upload(self, message: Incoming, chat: _Chat, sink: Sink, upload: Upload) -> None:
        if upload.data is None:
            limit = upload_limit(self._settings.uploads)
            await sink.send(
                Text(
                    f"This file is {_megabytes(upload.size)}; I can receive files up to "
                    f"{_megabytes(limit)}. Send a smaller file: a sample of the rows, fewer "
                    "columns, or the table saved as Parquet (much smaller than CSV)."
                )
            )
            return
        handle = await self._controller.submit_upload(
            user_id=message.user_id, filename=upload.filename, data=upload.data, chat_id=message.chat_id
        )
        # Waited for here, not in the background: what the user says next is about this table.
        header = _upload_header(upload.filename)
        status = await StatusMessage.open(sink, f"{header}\n⏳ Accepted as {handle.job_id}", interval=self._status_interval)
        outcome = await self._outcome(handle, sink, status, header=header)
        if outcome is not None:
            await self._deliver(outcome, sink, chat)

    # -- buttons -------------------------------------------------------------------------

    async def _on_button(self, message: Incoming, chat: _Chat, sink: Sink, data: str) -> None:
        kind, _, rest = data.partition(":")
        if kind == _CANCEL:
            await self._cancel(message, chat, sink)
        elif kind == _ANSWER:
            serial, _, index = rest.partition(":")
            question = chat.question
            if question is None or str(question.serial) != serial or not index.isdigit():
                await sink.send(Text("That question is closed. Tell me again what you would like."))
                return
            asked = question.draft.questions[0]
            if int(index) >= len(asked.options):
                await sink.send(Text("That choice is no longer open."))
                return
            await self._answer(message, chat, sink, asked.options[int(index)])
        elif kind == _DELETE:
            model = await asyncio.to_thread(
                self._store.get_model, user_id=message.user_id, model_id=rest
            )
            await asyncio.to_thread(
                self._store.delete_model, user_id=message.user_id, model_id=model.model_id
            )
            await sink.send(Text(f"🗑 Model {model.model_id} deleted."))
        elif kind == _KEEP:
            await sink.send(Text(f"OK, model {rest} stays."))
        elif kind == _COMPARE:
            dataset_id, index, models = (rest.split(":") + [""])[:3]
            dataset = await self._dataset(message.user_id, chat)
            if dataset is None or dataset.dataset_id != dataset_id or not index.isdigit():
                await sink.send(Text("That choice is no longer open."))
                return
            column = dataset.summary.columns[int(index)].name
            named = tuple(_MODEL_ORDER[int(i)] for i in models.split(".") if i)
            request = CompareRequest(target=column, include_neural_network=False, models=named)
            await self._compare(message, chat, sink, request)
        elif kind == _OFFER:
            await self._take_offer(message, chat, sink, rest)
        elif kind == _DELETE_TABLE:
            await self._delete_dataset(message.user_id, chat, sink, rest)
        elif kind == _KEEP_TABLE:
            await sink.send(Text(f"OK, table {rest} stays."))
        else:
            await sink.send(Text("That choice is no longer open."))

    # -- text ----------------------------------------------------------------------------

    async def _on_text(self, message: Incoming, chat: _Chat, sink: Sink, text: str) -> None:
        if text.startswith("/"):
            await self._command(message, chat, sink, text)
        elif (comparing := compare_request(text)) is not None:  # a new request, even in a question
            chat.question = None
            await self._compare(message, chat, sink, comparing)
        elif chat.question is not None:
            await self._answer(message, chat, sink, text)
        elif (tuning := tune_request(text)) is not None:
            await self._tune(message, chat, sink, tuning)
        else:
            draft = await self._parse(message, chat, text)
            if chat.last_request is not None:
                table = _table(await self._dataset(message.user_id, chat))
                edited = await asyncio.to_thread(follow_up, chat.last_request, text, draft, table)
                draft = edited or draft
            await self._proceed(message, chat, sink, draft, shown_notes=())

    async def _command(self, message: Incoming, chat: _Chat, sink: Sink, text: str) -> None:
        head, _, words = text.partition(" ")
        name = head[1:].split("@", 1)[0].lower()
        command = _COMMANDS.get(name)
        if command is None:
            meant = closest(name, _COMMANDS)
            hint = f" Did you mean /{meant}?" if meant else ""
            await sink.send(Text(f"I do not know /{name}.{hint} /help lists what I can do."))
            return
        if command.new_request:
            chat.question = None
        await command.run(self, message, chat, sink, words.strip())

    async def _parse_as(self, intent: Intent, message: Incoming, chat: _Chat, sink: Sink, words: str) -> None:
        """/train, /describe: the words read as a request for `intent`."""
        draft = await self._parse(message, chat, words, intent=intent)
        await self._proceed(message, chat, sink, draft, shown_notes=())

    async def _with_model(self, intent: Intent, message: Incoming, chat: _Chat, sink: Sink, words: str) -> None:
        """/predict, /retrain: a request for `intent` with the model the words name (its id), or a
        question about which model when they name none."""
        model_id = words.split()[0].lower() if words else None
        model_ids = await self._model_ids(message.user_id)
        request = PredictRequest(user_id=message.user_id) if intent is Intent.PREDICT else None
        draft = resolve(Draft(intent=intent, request=request, model_id=model_id), table=None, model_ids=model_ids)
        await self._proceed(message, chat, sink, draft, shown_notes=())

    # -- drafts and questions ------------------------------------------------------------

    async def _parse(self, message: Incoming, chat: _Chat, text: str, *, intent: Intent | None = None) -> Draft:
        dataset = await self._dataset(message.user_id, chat)
        return await self._parser.parse(
            text,
            table=_table(dataset),
            model_ids=await self._model_ids(message.user_id),
            user_id=message.user_id,
            intent=intent,
        )

    async def _model_ids(self, user_id: str) -> list[str]:
        """The user's saved models, newest first."""
        models = await asyncio.to_thread(self._store.list_models, user_id=user_id)
        return [m.model_id for m in models]

    async def _answer(self, message: Incoming, chat: _Chat, sink: Sink, value: str) -> None:
        question = chat.question
        assert question is not None
        chat.question = None
        dataset = await self._dataset(message.user_id, chat)
        before = question.draft
        # Matching names against a wide table can take a while: off the event loop.
        asked = before.questions[0].field
        draft = await asyncio.to_thread(answer, before, field=asked, value=value, table=_table(dataset))
        if draft.questions and draft.questions[0].field == asked:
            # Not an answer: a new request of its own ("is age significant?") leaves the question.
            fresh = await self._parse(message, chat, value)
            if fresh.intent is not Intent.UNKNOWN or fresh.reply is not None:
                await self._proceed(message, chat, sink, fresh, shown_notes=())
                return
        await self._proceed(message, chat, sink, draft, shown_notes=before.notes)

    async def _proceed(
        self,
        message: Incoming,
        chat: _Chat,
        sink: Sink,
        draft: Draft,
        *,
        shown_notes: Sequence[str],
    ) -> None:
        """Ask the draft's next question, or do what it asks for."""
        notes = [f"ℹ️ {n}" for n in draft.notes if n not in shown_notes]
        if draft.intent is Intent.HELP:
            await self._help(sink)
            return
        if draft.intent is Intent.CANCEL:
            await self._cancel(message, chat, sink)
            return
        if draft.reply is not None:
            await sink.send(Text(draft.reply))
            return
        if draft.intent is Intent.UNKNOWN:
            await sink.send(Text("\n".join([*notes, _NOT_UNDERSTOOD])))
            return
        if draft.intent is Intent.TRAIN and await self._dataset(message.user_id, chat) is None:
            await sink.send(Text("\n".join([*notes, "To train a model I need a table. " + _SEND_TABLE])))
            return
        if draft.questions:
            await self._ask(chat, sink, draft, notes)
            return
        if notes:
            await sink.send(Text("\n".join(notes)))
        match draft.intent:
            case Intent.TRAIN:
                await self._train(message, chat, sink, draft)
            case Intent.PREDICT:
                await self._predict(message, chat, sink, draft)
            case Intent.LIST_MODELS:
                await self._list_models(message.user_id, sink)
            case Intent.SHOW_MODEL:
                await self._show_model(message.user_id, sink, draft.model_id or "", question=message.text or "")
            case Intent.DELETE_MODEL:
                await self._offer_delete(message.user_id, sink, draft.model_id or "")
            case Intent.RETRAIN:
                await self._retrain(message, chat, sink, draft.model_id or "")
            case Intent.DATA_SUMMARY:
                await self._show_data(message.user_id, chat, sink)
            case Intent.DESCRIBE | Intent.CORRELATE | Intent.PLOT:
                await self._explore(message, chat, sink, draft)

    async def _help(self, sink: Sink) -> None:
        await sink.send(Text(_HELP))

    async def _ask(self, chat: _Chat, sink: Sink, draft: Draft, notes: list[str]) -> None:
        self._serial += 1
        chat.question = _Question(draft=draft, serial=self._serial)
        asked: Question = draft.questions[0]
        options = list(asked.options)
        label = model_label if asked.field == "model_type" else clip
        buttons = [
            Button(label=clip(label(option), _BUTTON_LABEL), data=f"{_ANSWER}:{self._serial}:{index}")
            for index, option in enumerate(options[:MAX_BUTTONS])
        ]
        lines = [*notes, asked.text]
        if len(options) > MAX_BUTTONS:
            lines.append(f"({MAX_BUTTONS} of {len(options)} are buttons; type the name of any other.)")
        elif not options:
            lines.append("(Type your answer, or /cancel.)")
        await sink.send(Text("\n".join(lines), buttons=(*buttons, Button("✖ Cancel", _CANCEL))))

    async def _cancel(self, message: Incoming, chat: _Chat, sink: Sink) -> None:
        if chat.question is not None:
            chat.question = None
            await sink.send(Text("OK, I dropped that request. What would you like to do?"))
            return
        if not chat.running_jobs:
            await sink.send(Text("There is nothing to cancel."))
            return
        for job_id in sorted(chat.running_jobs):
            if await self._controller.cancel(job_id=job_id, user_id=message.user_id):
                await sink.send(Text(f"Stopping job {job_id}…"))

    # -- jobs ----------------------------------------------------------------------------

    async def _train(self, message: Incoming, chat: _Chat, sink: Sink, draft: Draft) -> None:
        dataset = await self._dataset(message.user_id, chat)
        assert dataset is not None
        task = to_task(draft, user_id=message.user_id, dataset_id=dataset.dataset_id, conversation_id=message.chat_id)
        assert isinstance(task, TrainRequest)
        chat.last_request = draft
        header = _train_header(task.model_type, task.target_column or "")
        await self._submit(message, chat, sink, task, header=header)

    async def _predict(self, message: Incoming, chat: _Chat, sink: Sink, draft: Draft) -> None:
        dataset = await self._dataset(message.user_id, chat)
        if dataset is None:
            await sink.send(Text("Send me the table with the rows to predict first, then ask again."))
            return
        task = to_task(draft, user_id=message.user_id, dataset_id=dataset.dataset_id, conversation_id=message.chat_id)
        assert isinstance(task, PredictRequest)
        header = _predict_header(task.model_id or "", dataset.filename)
        await self._submit(message, chat, sink, task, header=header)

    async def _retrain(self, message: Incoming, chat: _Chat, sink: Sink, model_id: str) -> None:
        """Train a saved model's settings again on the current table (a new model; the old one is
        kept) and compare both on the new test rows."""
        if not model_id:
            await sink.send(Text("Which model? Write /retrain ID; /models lists your models."))
            return
        model = await asyncio.to_thread(self._store.get_model, user_id=message.user_id, model_id=model_id)
        dataset = await self._dataset(message.user_id, chat)
        if dataset is None:
            await sink.send(Text(f"To retrain {model.model_id} I need the new table. " + _SEND_TABLE))
            return
        task = retrain_task(
            user_id=message.user_id,
            model_id=model.model_id,
            metadata=model.metadata or {},
            dataset_id=dataset.dataset_id,
            summary=dataset.summary,
            conversation_id=message.chat_id,
        )
        header = f"🔁 Retraining {model.model_id} ({_training(model.model_type, model.target_column)}) on {clip(dataset.filename)}"
        await self._submit(message, chat, sink, task, header=header)

    async def _explore(self, message: Incoming, chat: _Chat, sink: Sink, draft: Draft) -> None:
        dataset = await self._dataset(message.user_id, chat)
        if dataset is None:
            await sink.send(Text("To look at your data I need a table. " + _SEND_TABLE))
            return
        request = to_explore(
            draft, user_id=message.user_id, dataset_id=dataset.dataset_id, conversation_id=message.chat_id
        )
        handle = await self._controller.submit_explore(request)
        header = explore_header(request.model_dump(mode="json"))
        await self._watch(handle, chat, sink, header=header, news=f"⏳ Accepted as {handle.job_id}")

    async def _submit(
        self, message: Incoming, chat: _Chat, sink: Sink, task: Task, *, header: str
    ) -> None:
        try:
            handle = await self._controller.submit(task)
        except CostError as exc:  # too long for a job: offer what would fit, as buttons
            self._serial += 1
            chat.offer = _Offer(task=task, changes=tuple(c for _, c in exc.offers), serial=self._serial)
            buttons = [
                Button(label=clip(label, _BUTTON_LABEL), data=f"{_OFFER}:{self._serial}:{index}")
                for index, (label, _) in enumerate(exc.offers)
            ]
            await sink.send(Text(exc.user_message, buttons=tuple(buttons)))
            return
        await self._watch(handle, chat, sink, header=header, news=f"⏳ Accepted as {handle.job_id}")

    async def _compare(self, message: Incoming, chat: _Chat, sink: Sink, request: CompareRequest) -> None:
        """Train every model that fits the target, one job each, and answer with a leaderboard."""
        dataset = await self._dataset(message.user_id, chat)
        if dataset is None:
            await sink.send(Text("To compare models I need a table. " + _SEND_TABLE))
            return
        columns = list(dataset.summary.column_names)
        match = match_column(request.target, columns) if request.target else None
        if match is None or match.column is None:
            options = match.candidates if match is not None and match.candidates else columns
            named = ".".join(str(_MODEL_ORDER.index(m)) for m in request.models)
            buttons = [
                Button(
                    label=clip(name, _BUTTON_LABEL),
                    data=f"{_COMPARE}:{dataset.dataset_id}:{columns.index(name)}:{named}",
                )
                for name in options[:MAX_BUTTONS]
            ]
            await sink.send(Text("Which column should the models predict? (or /compare COLUMN)", buttons=tuple(buttons)))
            return
        comparison = await start_comparison(
            self._controller,
            settings=self._settings,
            user_id=message.user_id,
            dataset=dataset,
            target=match.column,
            include_neural_network=request.include_neural_network,
            models=request.models,
            conversation_id=message.chat_id,
        )
        total = len(comparison.candidates)
        header = "\n".join([*request.notes, f"🏁 Comparing {total} models → {clip(match.column)}"])
        status = await StatusMessage.open(sink, f"{header}\n{status_line(0, total)}", interval=self._status_interval)

        async def follow() -> None:
            async def on_done(done: int, of: int) -> None:
                await status.update(f"{header}\n{status_line(done, of)}")

            await comparison.run(on_done)
            await status.finish(f"{header}\n✅ {total} of {total} candidates done")
            await sink.send(Text(format_leaderboard(comparison)))
            for candidate in comparison.candidates[-1:]:
                for plot in candidate.plots:
                    if plot.name == "leaderboard.png":
                        await sink.send(Photo(path=plot, caption="Cross-validated score of each model (± one standard deviation)"))

        task = asyncio.create_task(follow(), name=f"compare-{message.user_id}")
        self._tasks.add(task)
        task.add_done_callback(self._followed)

    async def _tune(self, message: Incoming, chat: _Chat, sink: Sink, request: TuneRequest) -> None:
        """Search a model's settings (one job, its own container) and keep the tuned model."""
        dataset = await self._dataset(message.user_id, chat)
        if dataset is None:
            await sink.send(Text("To tune a model I need a table. " + _SEND_TABLE))
            return
        if request.model is None:
            await sink.send(Text("Which model should I tune? For example: /tune random_forest price"))
            return
        columns = list(dataset.summary.column_names)
        match = match_column(request.target, columns) if request.target else None
        if match is None or match.column is None:
            await sink.send(
                Text(f"Which column should the tuned model predict? For example: /tune {request.model.value} {columns[-1]}")
            )
            return
        task = TrainRequest(
            user_id=message.user_id,
            model_type=request.model,
            dataset_id=dataset.dataset_id,
            target_column=match.column,
            conversation_id=message.chat_id,
            tune=True,
        )
        await self._submit(message, chat, sink, task, header=f"🎛 Tuning {model_label(request.model.value)} → {clip(match.column)}")

    async def _take_offer(self, message: Incoming, chat: _Chat, sink: Sink, choice: str) -> None:
        """Train what a cost refusal offered: the same task with the chosen offer's changes."""
        serial, _, index = choice.partition(":")
        offer = chat.offer
        if offer is None or str(offer.serial) != serial or not index.isdigit() or int(index) >= len(offer.changes):
            await sink.send(Text("That choice is no longer open."))
            return
        chat.offer = None
        task = TrainRequest.model_validate({**offer.task.model_dump(), **offer.changes[int(index)]})
        await self._submit(message, chat, sink, task, header=_train_header(task.model_type, task.target_column or ""))

    async def _watch(self, handle: JobHandle, chat: _Chat, sink: Sink, *, header: str, news: str) -> None:
        """Open the job's status message (`header`, then `news`) and follow the job in the background."""
        status = await StatusMessage.open(sink, f"{header}\n{news}", interval=self._status_interval)
        chat.running_jobs.add(handle.job_id)
        follow = asyncio.create_task(
            self._follow(handle, sink, status, header=header, chat=chat),
            name=f"follow-{handle.job_id}",
        )
        self._tasks.add(follow)
        follow.add_done_callback(self._followed)

    async def _outcome(
        self,
        handle: JobHandle,
        sink: Sink,
        status: StatusMessage,
        *,
        header: str,
        on_saved: Callable[[JobSaved], Awaitable[None]] | None = None,
    ) -> JobOutcome | None:
        """Keep the status message up to date until the job ends; its outcome, or None once the
        user has been told why it failed. `on_saved` hears a training's model as soon as it is saved."""
        started = time.monotonic()
        try:
            async for event in handle.events():
                if isinstance(event, JobSaved) and on_saved is not None:
                    await on_saved(event)
                if (line := _event_line(event)) is not None:
                    await status.update(f"{header}\n{line}")
            outcome = await handle.result()
        except JobError as exc:
            log.warning("job_failed", job_id=handle.job_id, reason=exc.reason, error=str(exc))
            await status.finish(f"{header}\n❌ Stopped: {exc.reason.replace('_', ' ')}")
            await sink.send(Text(f"❌ {exc.user_message}"))
            return None
        except StatAgentError as exc:
            log.warning("job_result_failed", job_id=handle.job_id, error=str(exc))
            await status.finish(f"{header}\n❌ Stopped")
            await sink.send(Text(f"❌ {exc.user_message}"))
            return None
        await status.finish(f"{header}\n✅ Done in {time.monotonic() - started:.0f} s")
        return outcome

    def _followed(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("follow_failed", task=task.get_name(), exc_info=task.exception())

    async def _follow(
        self, handle: JobHandle, sink: Sink, status: StatusMessage, *, header: str, chat: _Chat
    ) -> None:
        saved: list[JobSaved] = []

        async def numbers(event: JobSaved) -> None:  # sent while the plots are being drawn
            saved.append(event)
            await _send_numbers(sink, event.result)

        try:
            outcome = await self._outcome(handle, sink, status, header=header, on_saved=numbers)
        finally:
            chat.running_jobs.discard(handle.job_id)
        if outcome is not None:
            await self._deliver(outcome, sink, chat, saved=saved[0] if saved else None)

    async def _deliver(self, outcome: JobOutcome, sink: Sink, chat: _Chat, *, saved: JobSaved | None = None) -> None:
        """Send what a succeeded job made: a table's summary, a model's metrics and plots, or predictions.

        A training's numbers went out with its JobSaved (`saved`) already: then only its plots
        follow, with what went wrong drawing them."""
        result = outcome.result
        model_id = result.model_id or ""
        if outcome.dataset is not None:
            chat.dataset = outcome.dataset
            chat.question = None
            await sink.send(Text(format_summary(outcome.dataset)))
        elif result.train is not None:
            if saved is None:
                await _send_numbers(sink, result)
            for plot in outcome.plots:
                await sink.send(Photo(path=plot, caption=_plot_caption(plot)))
            earlier = saved.result.train.warnings if saved is not None and saved.result.train else result.train.warnings
            late = [warning for warning in result.train.warnings if warning not in earlier]
            if late:
                await sink.send(Text("\n".join(f"⚠️ {warning}" for warning in late)))
            if outcome.plots_failed is not None:
                await sink.send(Text(_plots_failed(model_id, outcome.plots_failed)))
        elif result.explore is not None:
            if (text := format_explore(result.explore)) is not None:
                await sink.send(Text(text, monospace=True))
            drawn = {path.name: path for path in outcome.plots}
            for figure in result.explore.figures:
                if figure.file in drawn:
                    await sink.send(Photo(path=drawn[figure.file], caption=explore_caption(figure, result.explore)))
        elif result.predict is not None:
            await sink.send(Text(format_prediction(result.predict, model_id=model_id)))
            if outcome.predictions_csv is not None:
                await sink.send(
                    Document(
                        path=outcome.predictions_csv,
                        filename=f"predictions_{model_id}.csv",
                        caption=f"{result.predict.rows:,} predictions by {model_id}",
                    )
                )

    # -- models --------------------------------------------------------------------------

    async def _list_models(self, user_id: str, sink: Sink) -> None:
        models = await asyncio.to_thread(self._store.list_models, user_id=user_id)
        await sink.send(Text(format_models(models)))

    async def _list_jobs(self, user_id: str, sink: Sink) -> None:
        jobs = await asyncio.to_thread(self._store.list_jobs, user_id=user_id)
        await sink.send(Text(format_jobs(jobs)))

    async def _show_model(self, user_id: str, sink: Sink, model_id: str, *, question: str = "") -> None:
        """The model's details and coefficient table; a question naming columns gets only a sentence
        on each ("is age significant?"), and one on significance the table and the terms that pass
        at 5%."""
        if not model_id:
            await sink.send(Text("Which model? Write /model ID; /models lists your models."))
            return
        model = await asyncio.to_thread(self._store.get_model, user_id=user_id, model_id=model_id)
        inference = stored_inference(model.metadata)
        if answers := term_answers(inference, question):
            await sink.send(Text(answers))
            return
        verdict = significant_terms(inference, question)
        if verdict is None:  # a question on significance gets the table behind the answer, not the card
            await sink.send(Text(format_model(model)))
        for reply in coefficient_replies(inference):
            await sink.send(reply)
        if verdict is not None:
            await sink.send(Text(verdict))

    async def _offer_delete(self, user_id: str, sink: Sink, model_id: str) -> None:
        if not model_id:
            await sink.send(Text("Which model? Write /delete ID; /models lists your models."))
            return
        model = await asyncio.to_thread(self._store.get_model, user_id=user_id, model_id=model_id)
        await _confirm_delete(
            sink,
            f"Delete model {model.model_id} ({model_label(model.model_type)}, target {clip(model.target_column)})?",
            delete=f"{_DELETE}:{model.model_id}",
            keep=f"{_KEEP}:{model.model_id}",
        )

    # -- tables --------------------------------------------------------------------------

    async def _show_data(self, user_id: str, chat: _Chat, sink: Sink) -> None:
        dataset = await self._dataset(user_id, chat)
        await sink.send(Text(format_summary(dataset) if dataset else "No table yet. " + _SEND_TABLE))

    async def _list_datasets(self, user_id: str, chat: _Chat, sink: Sink) -> None:
        datasets = await asyncio.to_thread(self._store.list_datasets, user_id=user_id)
        current = await self._dataset(user_id, chat)
        await sink.send(Text(format_datasets(datasets, current_id=current.dataset_id if current else None)))

    async def _offer_dataset_delete(self, user_id: str, sink: Sink, words: str) -> None:
        action, _, dataset_id = words.partition(" ")
        dataset_id = dataset_id.strip()
        if action.lower() != "delete" or not dataset_id:
            await sink.send(Text("Write /dataset delete ID; /datasets lists your tables."))
            return
        dataset = await asyncio.to_thread(self._store.get_dataset, user_id=user_id, dataset_id=dataset_id)
        summary = dataset.summary
        await _confirm_delete(
            sink,
            f"Delete table {dataset.dataset_id} ({clip(dataset.filename)}, {summary.rows:,} rows × "
            f"{len(summary.columns)} columns)?",
            delete=f"{_DELETE_TABLE}:{dataset.dataset_id}",
            keep=f"{_KEEP_TABLE}:{dataset.dataset_id}",
        )

    async def _delete_dataset(self, user_id: str, chat: _Chat, sink: Sink, dataset_id: str) -> None:
        current = await self._dataset(user_id, chat)
        await asyncio.to_thread(self._store.delete_dataset, user_id=user_id, dataset_id=dataset_id)
        chat.dataset = None  # read again from the store, which has no current table if it was this one
        if current is not None and current.dataset_id == dataset_id:
            await sink.send(
                Text(f"🗑 Table {dataset_id} deleted. It was your current table: send me another one to go on.")
            )
        else:
            await sink.send(Text(f"🗑 Table {dataset_id} deleted."))

    async def _dataset(self, user_id: str, chat: _Chat) -> DatasetRecord | None:
        """The current table; after a restart, the one the store remembers."""
        if chat.dataset is None:
            chat.dataset = await asyncio.to_thread(self._store.current_dataset, user_id=user_id)
        return chat.dataset


_SEND_TABLE = "Send me a table: a CSV, Excel (.xlsx) or Parquet file."
_NOT_UNDERSTOOD = (
    "I did not understand that. Try for example:\n"
    "• Train a random forest to predict price\n"
    "• Train a logistic regression to classify outcome using all features\n"
    "• Use model model_1a2b3c4d to make predictions\n"
    "/help lists everything I can do."
)

_Run = Callable[[Dialogue, Incoming, _Chat, Sink, str], Awaitable[None]]


@dataclass(frozen=True)
class _Command:
    """A slash command: what it does with the words after it, its /help line (None: not listed), and
    whether it starts a new request (an open question is dropped)."""

    run: _Run
    help: str | None = None
    new_request: bool = False


# In /help's order. Run with (dialogue, message, chat, sink, words after the command).
_COMMANDS: dict[str, _Command] = {
    "start": _Command(lambda d, m, c, s, w: d._help(s)),
    "data": _Command(lambda d, m, c, s, w: d._show_data(m.user_id, c, s), "/data — the current table"),
    "describe": _Command(
        lambda d, m, c, s, w: d._parse_as(Intent.DESCRIBE, m, c, s, w),
        "/describe [columns] — statistics of each column (n, missing, mean, sd, quartiles; top categories)",
        new_request=True,
    ),
    "datasets": _Command(lambda d, m, c, s, w: d._list_datasets(m.user_id, c, s), "/datasets — your tables"),
    "dataset": _Command(
        lambda d, m, c, s, w: d._offer_dataset_delete(m.user_id, s, w), "/dataset delete ID — delete a table"
    ),
    "train": _Command(
        lambda d, m, c, s, w: d._parse_as(Intent.TRAIN, m, c, s, w),
        "/train [words] — train a model",
        new_request=True,
    ),
    "compare": _Command(
        lambda d, m, c, s, w: d._compare(m, c, s, compare_command(w)),
        "/compare [target] [models] — which model is best: each one on the same split and folds",
        new_request=True,
    ),
    "tune": _Command(
        lambda d, m, c, s, w: d._tune(m, c, s, tune_command(w)),
        "/tune MODEL TARGET — search a model's settings by cross-validation",
        new_request=True,
    ),
    "predict": _Command(
        lambda d, m, c, s, w: d._with_model(Intent.PREDICT, m, c, s, w),
        "/predict [model id] — predictions on the current table",
        new_request=True,
    ),
    "models": _Command(lambda d, m, c, s, w: d._list_models(m.user_id, s), "/models — your models"),
    "model": _Command(lambda d, m, c, s, w: d._show_model(m.user_id, s, w), "/model ID — details of a model"),
    "retrain": _Command(
        lambda d, m, c, s, w: d._with_model(Intent.RETRAIN, m, c, s, w),
        "/retrain ID — train a model again on the current table and compare old and new",
        new_request=True,
    ),
    "delete": _Command(lambda d, m, c, s, w: d._offer_delete(m.user_id, s, w), "/delete ID — delete a model"),
    "jobs": _Command(lambda d, m, c, s, w: d._list_jobs(m.user_id, s), "/jobs — your recent jobs"),
    "cancel": _Command(
        lambda d, m, c, s, w: d._cancel(m, c, s), "/cancel — leave a question or stop your running jobs"
    ),
    "help": _Command(lambda d, m, c, s, w: d._help(s), "/help — this message"),
}
_HELP = "\n".join([HELP_INTRO, "", "Commands:", *(c.help for c in _COMMANDS.values() if c.help)])


async def _confirm_delete(sink: Sink, question: str, *, delete: str, keep: str) -> None:
    """Ask before deleting: `delete` and `keep` are the two buttons' data."""
    await sink.send(
        Text(f"{question} This cannot be undone.", buttons=(Button("🗑 Delete", delete), Button("Keep it", keep)))
    )


def _table(dataset: DatasetRecord | None) -> TableInfo | None:
    return None if dataset is None else TableInfo.from_summary(dataset.summary)


def _train_header(model_type: str | None, target: str) -> str:
    return f"🚀 {_training(model_type, target)}"


def _training(model_type: str | None, target: str) -> str:
    """'Random Forest → price'."""
    model = model_label(model_type) if model_type else "A model"
    return f"{model} → {clip(target)}"


def _upload_header(filename: str) -> str:
    return f"📥 Reading {clip(filename)}"


def _predict_header(model_id: str, filename: str) -> str:
    return f"🔮 Predictions with {model_id} on {clip(filename)}"


def _restart_news(job: JobRecord) -> str:
    """The one sentence telling a chat that a restart stopped its job, and what to do now."""
    spec = job.spec
    match job.kind:
        case JobKind.TRAIN:
            what = _training(spec.get("model_type"), str(spec.get("target_column", "")))
            retry = "send the request again"
        case JobKind.PREDICT:
            what, retry = f"predictions with {job.model_id}", "send the request again"
        case JobKind.EXPLORE:
            what, retry = explore_subject(spec), "ask again"
        case _:
            what, retry = f"reading {clip(str(spec.get('filename', 'your file')))}", "send the file again"
    return (
        f"⚠️ The service restarted while your job {job.job_id} ({what}) was running, so it was "
        f"stopped. Nothing was saved; {retry}."
    )


async def _send_numbers(sink: Sink, result: Result) -> None:
    """A trained model's metrics, its comparison with the model it retrains, coefficients, tuning."""
    assert result.train is not None
    model_id = result.model_id or ""
    await sink.send(Text(format_training(result.train, model_id=model_id)))
    if (compared := format_retrain(result.train, model_id=model_id)) is not None:
        await sink.send(Text(compared))
    for reply in coefficient_replies(result.train.inference):
        await sink.send(reply)
    if (tuning := result.train.tuning) is not None:
        await sink.send(Text(format_tuning(tuning, model_id=model_id)))


def _plots_failed(model_id: str, reason: str) -> str:
    return (
        f"⚠️ The plots could not be drawn: the job stopped ({reason.replace('_', ' ')}) while drawing them. "
        f"The model {model_id} is saved and the numbers above stand."
    )


def _event_line(event: JobEvent) -> str | None:
    """The status line for a job event; None for the end (the final status says more)."""
    match event:
        case JobQueued(position=position) if position > 0:
            return f"⏳ Waiting in the queue (position {position})"
        case JobQueued():
            return "⏳ Queued"
        case JobStarted():
            return "⚙️ Starting…"
        case JobProgress(stage=stage, percent=percent, message=text):
            return f"⚙️ {text or stage.replace('_', ' ').capitalize()} — {percent:.0f}%"
    return None


_PLOT_CAPTIONS = {
    "predicted_vs_actual": "Predicted vs real values on the test rows",
    "residuals": "How far off the predictions are",
    "confusion_matrix": "Right and wrong guesses on the test rows",
    "roc_curve": "ROC curve: how well the model tells the classes apart",
    "feature_importance": "What the model relies on most",
    "learning_curve": "Learning progress per epoch",
}


def _plot_caption(path: Path) -> str:
    return _PLOT_CAPTIONS.get(path.stem, path.stem.replace("_", " ").capitalize())


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
