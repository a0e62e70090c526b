"""Tables that fit the terminal a user has: nothing a user reads as one token is ever cut.

Rich shrinks columns to the console's width and cuts what no longer fits (`0.0…`,
`2018-1…`, a model ID), which turns a p-value of 6.39e-07 into "6.39". Before printing, every
column gets the width of its longest token (a number, a date, an ID, a word): text with
spaces may wrap, a token never splits. A table that still does not fit drops the columns it
marks optional (and says which), else turns (few rows become columns), else folds into one
block per row, each cell on its own line under its header.
"""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.table import Column, Table
from rich.text import Text


def _plain(cell: object) -> str:
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return ""  # another renderable: Rich measures it itself


def _longest_token(cells: list[object]) -> int:
    return max((Text(tok).cell_len for c in cells for tok in _plain(c).split()), default=0)


def _least(col: Column) -> int:
    """The narrowest a column can be with no token cut; a column that may not wrap (a value
    and its p-value, say) keeps each cell on one line, its heading may still wrap."""
    if not col.no_wrap:
        return _longest_token([col.header, *col._cells])
    lines = (Text(line).cell_len for c in col._cells for line in _plain(c).splitlines())
    return max(_longest_token([col.header]), max(lines, default=0))


def needed_width(table: Table) -> int:
    """The narrowest the table can be with no token cut: tokens, padding and borders."""
    pad = table.padding[1] + table.padding[3] if len(table.padding) == 4 else 2
    inner = sum(max(_least(col), col.min_width or 0) + pad for col in table.columns)
    return inner + (
        len(table.columns) + 1 if table.box is not None and table.show_edge else len(table.columns) - 1
    )


def fit(table: Table, width: int) -> RenderableType:
    """`table` with every column at least as wide as its longest token, or, if that is wider
    than `width`, its rows as blocks of `header: value` lines."""
    for col in table.columns:
        col.min_width = max(col.min_width or 0, _least(col))
        col.no_wrap = False  # its cells fit their width now; the heading may wrap, never be cut
        col.overflow = "fold"  # a last resort for text without spaces; never "…"
    if not table.columns:
        return table
    need = needed_width(table)
    if need <= width:
        _share(table, width - need)
        if table.title:  # as wide as its title where the terminal allows: a title never wraps
            table.min_width = min(Text(_plain(table.title)).cell_len, width)
        return table
    slim = _without_optional(table, width)
    if slim is not None:
        return slim
    turned = _transposed(table)
    if turned is not None and needed_width(turned) <= width:
        return fit(turned, width)
    return _blocks(table, width)


def _share(table: Table, spare: int) -> None:
    """Fix each column's width: its longest token, plus a share of the spare room in
    proportion to how much more its longest line wants. (Left to itself, Rich's shrinking
    can overrun the width, and the console then crops the last column.)"""
    longest = [
        max(
            (Text(line).cell_len for c in [col.header, *col._cells] for line in _plain(c).splitlines()),
            default=0,
        )
        for col in table.columns
    ]
    wants = [max(0, full - (col.min_width or 0)) for full, col in zip(longest, table.columns, strict=True)]
    if sum(wants) <= spare:
        return  # everything fits on one line: Rich lays it out as it likes
    given = [spare * w // sum(wants) for w in wants]
    for col, extra in zip(table.columns, given, strict=True):
        col.width = (col.min_width or 0) + extra


def optional(table: Table, *headers: str, wide: bool = False) -> Table:
    """Mark columns a narrow terminal may drop, the least important first; `--json` keeps them,
    and so does `--wide` where the command has it (`wide`: the note then says so)."""
    table.optional = headers  # type: ignore[attr-defined]
    table.wide_flag = wide  # type: ignore[attr-defined]
    return table


def _without_optional(table: Table, width: int) -> Table | None:
    """The table without as few of its optional columns as make it fit, saying which."""
    droppable = [
        h for h in getattr(table, "optional", ()) if any(_plain(c.header) == h for c in table.columns)
    ]
    for k in range(1, len(droppable) + 1):
        gone = set(droppable[:k])
        keep = [c for c in table.columns if _plain(c.header) not in gone]
        slim = Table(title=table.title, title_justify=table.title_justify, box=table.box)
        for col in keep:
            slim.add_column(col.header, justify=col.justify, min_width=col.min_width, overflow="fold")
        for r in range(table.row_count):
            slim.add_row(*[_cell(table, table.columns.index(col), r) for col in keep])  # type: ignore[arg-type]
        if needed_width(slim) <= width:
            _share(slim, width - needed_width(slim))
            how = (
                "--wide or --json shows them"
                if getattr(table, "wide_flag", False)
                else "widen the terminal, or --json"
            )
            note = f"not shown at {width} columns: {', '.join(droppable[:k])} ({how})"
            slim.caption = note if not table.caption else f"{table.caption}\n{note}"
            slim.caption_justify = "left"
            slim.dropped = tuple(droppable[:k])  # type: ignore[attr-defined]
            return slim
    return None


def _cell(table: Table, col: int, row: int) -> object:
    cells = table.columns[col]._cells
    return cells[row] if row < len(cells) else ""


def _transposed(table: Table) -> Table | None:
    """Few rows of many columns (a model beside its baselines): the rows become columns,
    headed by their first cell, so the numbers still stand side by side."""
    if not 1 <= table.row_count <= 6 or len(table.columns) < 3:
        return None
    first = table.columns[0]
    turned = Table(title=table.title, title_justify=table.title_justify, caption=table.caption)
    turned.add_column(_plain(first.header), justify="left")
    for r in range(table.row_count):
        turned.add_column(_cell(table, 0, r), justify="right")  # type: ignore[arg-type]
    for c, col in enumerate(table.columns[1:], start=1):
        turned.add_row(col.header, *[_cell(table, c, r) for r in range(table.row_count)])  # type: ignore[arg-type]
    return turned


def _blocks(table: Table, width: int) -> RenderableType:
    """Each row as `header  value` lines, rows apart: for tables too wide even turned. A value
    with a token too long to sit beside its header (a model ID at 40 columns) gets a line of
    its own under it, so that the token is never split."""
    blocks: list[RenderableType] = []
    if table.title:
        title = table.title
        blocks.append(Text.from_markup(title, style="bold") if isinstance(title, str) else title)
    label = max((Text(_plain(col.header)).cell_len for col in table.columns), default=0)
    for r in range(table.row_count):
        grid = _grid(label)
        for c, col in enumerate(table.columns):
            cell = _cell(table, c, r)
            if _longest_token([cell]) <= width - label - 2:  # the gap between the columns is 2
                grid.add_row(_plain(col.header), cell)  # type: ignore[arg-type]
                continue
            grid.add_row(_plain(col.header), "")
            value = (
                cell if isinstance(cell, Text) else Text.from_markup(cell) if isinstance(cell, str) else cell
            )
            blocks += [grid, value]  # type: ignore[list-item]
            grid = _grid(label)
        blocks.append(grid)
        if r < table.row_count - 1:
            blocks.append(Text("─" * min(width, 40), style="dim"))
    if table.caption:
        caption = table.caption
        blocks.append(Text.from_markup(caption) if isinstance(caption, str) else caption)
    return Group(*blocks)


def _grid(label: int) -> Table:
    grid = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    grid.add_column(style="dim", no_wrap=True, min_width=label)
    grid.add_column(overflow="fold")
    return grid


class FittingConsole(Console):
    """A Console whose tables fit its width (see `fit`); piped output has no trailing spaces.
    `dropped` names the optional columns the last print left out, so that a note about one of
    them is not printed under a table without it."""

    dropped: tuple[str, ...] = ()

    def print(self, *objects: object, **kwargs: object) -> None:
        fitted = [fit(o, self.width) if isinstance(o, Table) else o for o in objects]
        self.dropped = tuple(h for f in fitted for h in getattr(f, "dropped", ()))
        if self.is_terminal:
            super().print(*fitted, **kwargs)  # type: ignore[arg-type]
            return
        with self.capture() as out:
            super().print(*fitted, **kwargs)  # type: ignore[arg-type]
        text = out.get()
        self.file.write("".join(line.rstrip() + "\n" for line in text.splitlines()))
        self.file.flush()
