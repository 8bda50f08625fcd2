"""A generated corpus: biographies of invented people in real places, with planted facts that
tests ask about. Deterministic, so tests can name the passage that must be cited."""

from __future__ import annotations

import json
import random
from pathlib import Path

FIRST = ("Alice Bernard Clara Dmitri Elena Farid Greta Hugo Ingrid Jonas Kira Lars Mira Nils Olga "
         "Pavel Quinn Rosa Stefan Tamsin Ulrich Vera Walter Xenia Yusuf Zora").split()
LAST = ("Abernathy Brightwater Castellan Dunmore Everhart Falkenrath Greenhalgh Holloway "
        "Ingleby Jessup Kettering Lindqvist Marchetti Northcott Oyelaran Penhaligon Quartermain "
        "Rasmussen Silverstein Thistlewood").split()
CITIES = ("Lisbon Vienna Krakow Dublin Montreal Nairobi Osaka Valparaiso Helsinki Marseille "
          "Edinburgh Bologna Tbilisi Hanoi Winnipeg").split()
FIELDS = ("astronomy botany chemistry geology linguistics mathematics medicine music "
          "philosophy architecture").split()
ORGS = ("the Royal Observatory", "the Carnegie Institution", "the Pasteur Institute",
        "the Bauhaus", "the Max Planck Society", "the Smithsonian Institution",
        "the Academy of Sciences", "the British Museum")

NEEDLE = {
    "id": "needle-lighthouse",
    "title": "Zephyr Lighthouse",
    "text": ("The Zephyr Lighthouse is a granite tower on the coast of Brittany. It was designed "
             "by the engineer Marisol Quenby and first lit in 1893. Its lamp could be seen from "
             "thirty kilometres away."),
}
NEEDLE_QUESTION = "Who designed the Zephyr Lighthouse?"
NEEDLE_ANSWER = "Marisol Quenby"


def biography(rng: random.Random, index: int) -> dict[str, str]:
    """One invented biography passage."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    city, other = rng.sample(CITIES, 2)
    field, org = rng.choice(FIELDS), rng.choice(ORGS)
    mentor = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    year = 1850 + rng.randrange(120)
    text = (f"{name} was born in {city} in {year} and studied {field} at the university there. "
            f"{name} later worked at {org} in {other}, where {mentor} supervised the early work. "
            f"In {year + 30} {name} published a widely read book on {field} and moved back to "
            f"{city}.")
    return {"id": f"bio-{index:05d}", "title": name, "text": text}


def write_corpus(folder: Path, passages: int, seed: int = 7) -> Path:
    """Write ``passages`` biographies plus the needle as ``corpus.jsonl`` in ``folder``."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [biography(rng, i) for i in range(passages)]
    rows.insert(len(rows) // 2, NEEDLE)
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
