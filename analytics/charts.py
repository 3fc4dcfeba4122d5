"""Charts as data: each has its series (drawn by Chart.js from our own static files), the same numbers
as a table (readable without JavaScript) and as CSV. Presentation only; the figures come from selectors.
"""

import csv
import io
from dataclasses import dataclass, field


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # "line" or "bar"
    labels: list
    datasets: list[dict]
    columns: list[str]
    rows: list[list]
    note: str = ""
    y_label: str = ""
    links: list = field(default_factory=list)  # per row: an admin URL for its first cell, or ""

    @property
    def empty(self) -> bool:
        return not self.rows

    def spec(self) -> dict:
        """What charts.js draws (json_script'ed into the page)."""
        return {"kind": self.kind, "labels": [str(label) for label in self.labels], "datasets": self.datasets,
                "y_label": self.y_label}

    def table(self) -> list[list]:
        links = self.links or [""] * len(self.rows)
        return [{"link": link, "cells": ["—" if cell is None else cell for cell in row]}
                for link, row in zip(links, self.rows, strict=True)]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow(["" if cell is None else cell for cell in row])
        return out.getvalue()
