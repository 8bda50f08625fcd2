"""Two documents that share an entity (Brittany): deleting the first hides what only it says
(Farraway, Zephyr) and withholds the shared entity's description and its communities' reports
until the graph is rebuilt (``explore/visible.py``)."""

from __future__ import annotations

GONE = {"id": "harbour-log", "title": "Harbour log",
        "text": ("Odile Farraway designed the Zephyr Lighthouse in Brittany. Odile Farraway "
                 "later lived in Brittany with Teodor Vashti.")}
KEPT = {"id": "mill-notes", "title": "Mill notes",
        "text": ("Marisol Quenby built the Greyfield Mill in Brittany. Marisol Quenby sold the "
                 "Greyfield Mill to Anselm Korvath in Brittany.")}
GONE_WORDS = ("harbour-log", "Harbour log", "Farraway", "Zephyr")
