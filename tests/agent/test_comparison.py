"""Comparison and yes/no short answers on hand-made passages: the options of a question, the
person a relation leads to (a film's director), nations compared by country, and the bridge of
a "where was the director of film X born?" question."""

from __future__ import annotations

import pytest

from graphready.agent.comparison import agree, choose, options_of
from graphready.agent.reading import Source
from graphready.agent.short_answer import short_answer
from graphready.agent.tagging import KnownNamesTagger

FILM_A = Source("Quiet Harbour", "Quiet Harbour is a 1950 American drama film directed by "
                                 "Ilse Marwood.")
FILM_B = Source("Salt Road", "Salt Road is a 1938 French film directed by Tomas Ferrand.")
MARWOOD = Source("Ilse Marwood", "Ilse Marwood (3 May 1899 - 8 June 1981) was a German-born "
                                 "director. She was born in Kassel.")
FERRAND = Source("Tomas Ferrand", "Tomas Ferrand (12 July 1905 - 1 March 1960) was a French "
                                  "director born in Lyon.")
TAGGER = KnownNamesTagger([
    ("Quiet Harbour", "WORK_OF_ART"), ("Salt Road", "WORK_OF_ART"), ("American", "NORP"),
    ("French", "NORP"), ("Ilse Marwood", "PERSON"), ("Tomas Ferrand", "PERSON"),
    ("Kassel", "GPE"), ("Lyon", "GPE"), ("German", "NORP"), ("United States", "GPE"),
    ("Nordlicht", "WORK_OF_ART"),
])
SOURCES = [FILM_A, FILM_B, MARWOOD, FERRAND]


@pytest.mark.parametrize(("question", "options"), [
    ("Which film came out first, Quiet Harbour or Salt Road?", ("Quiet Harbour", "Salt Road")),
    ("Was Jorge Ledezma or Yuliya Baraley born first?", ("Jorge Ledezma", "Yuliya Baraley")),
    ("Was Ilse Marwood of the Rhine or Tomas Ferrand born first?",
     ("Ilse Marwood of the Rhine", "Tomas Ferrand")),
    ("Was the film good or bad?", None),
])
def test_options_of(question: str, options: tuple[str, str] | None) -> None:
    assert options_of(question) == options


def test_a_relation_compares_the_person_each_passage_names() -> None:
    # by the films' own dates Salt Road (1938) is first; by the directors' births Marwood (1899)
    born = "Which film has the director who was born first, Quiet Harbour or Salt Road?"
    assert choose(born, ("Quiet Harbour", "Salt Road"), SOURCES, TAGGER) == "Quiet Harbour"
    # the second date of a life is its end: Ferrand died first (1960)
    died = "Which film has the director who died first, Quiet Harbour or Salt Road?"
    assert choose(died, ("Quiet Harbour", "Salt Road"), SOURCES, TAGGER) == "Salt Road"
    # a director without a passage of their own: both films' dates, not one of each
    released = "Which film has the director born first, Quiet Harbour or Salt Road?"
    assert choose(released, ("Quiet Harbour", "Salt Road"), [FILM_A, FILM_B, FERRAND],
                  TAGGER) == "Salt Road"


def test_nations_are_compared_by_country() -> None:
    american = Source("Nordlicht", "Nordlicht is a 1961 film made in the United States.")
    same = "Are both movies, Quiet Harbour and Nordlicht, from the same country?"
    assert agree(same, [FILM_A, american], TAGGER) == "yes"
    differ = "Are both movies, Quiet Harbour and Salt Road, from the same country?"
    assert agree(differ, [FILM_A, FILM_B], TAGGER) == "no"
    directors = "Are the directors of films Quiet Harbour and Salt Road from the same country?"
    assert agree(directors, SOURCES, TAGGER) == "no"


def test_the_answer_is_read_in_the_passage_a_relation_leads_to() -> None:
    question = "Where was the director of film Quiet Harbour born?"
    assert short_answer(question, SOURCES, TAGGER) == "Kassel"


def test_a_relative_clause_leads_to_the_answer_in_its_subject_passage() -> None:
    issuer = Source("Robert Lindqvist", "Robert Lindqvist issued the Harbour Manifesto in 1834. "
                                        "His son was Arthur Lindqvist.")
    manifesto = Source("Harbour Manifesto", "The Harbour Manifesto was issued by Robert "
                                            "Lindqvist in 1834.")
    tagger = KnownNamesTagger([("Robert Lindqvist", "PERSON"), ("Arthur Lindqvist", "PERSON"),
                               ("Harbour Manifesto", "LAW")])
    question = "Who is the son of the person who issued the Harbour Manifesto?"
    assert short_answer(question, [manifesto, issuer], tagger) == "Arthur Lindqvist"
