"""The short answer on small hand-made passages: the kind the question asks for, the typed span
of the best sentences, comparisons by each option's date, yes/no."""

from __future__ import annotations

import pytest

from graphready.agent.answer import Answer
from graphready.agent.short_answer import (
    Source,
    lead_with,
    options_of,
    question_kind,
    sentences_of,
    short_answer,
)
from graphready.agent.tagging import KnownNamesTagger, RegexTagger, date_key

TURING = Source("Alan Turing", "Alan Mathison Turing was born in London on 23 June 1912. He "
                               "studied at King's College, Cambridge. He died in 1954.")
LIGHTHOUSE = Source("Zephyr Lighthouse", "The Zephyr Lighthouse is a granite tower in Brittany. "
                                         "It was designed by Marisol Quenby and first lit in "
                                         "1893. It has 3 keepers.")
FILM_A = Source("Aas Ka Panchhi", "Aas Ka Panchhi is a 1961 Hindi film directed by J. Om "
                                  "Prakash.")
FILM_B = Source("Phoolwari", "Phoolwari is a 1946 Indian Hindi-language film.")


GRAPH_NAMES = [("Alan Mathison Turing", "PERSON"), ("London", "GPE"), ("King's College", "ORG"),
               ("Cambridge", "GPE"), ("Zephyr Lighthouse", "FAC"), ("Brittany", "GPE"),
               ("Marisol Quenby", "PERSON"), ("Odile Farraway", "PERSON"), ("French", "NORP"),
               ("Teodor Vashti", "PERSON"), ("Lyon", "GPE"), ("Anselm Korvath", "PERSON"),
               ("German", "NORP"), ("Bremen", "GPE")]
"""The names, with spaCy's labels, that a graph built from these passages holds (what the
agent types the short answer with)."""


@pytest.fixture(scope="module")
def known() -> KnownNamesTagger:
    return KnownNamesTagger(GRAPH_NAMES)


@pytest.mark.parametrize(("question", "kind"), [
    ("Where was Alan Turing born?", "place"),
    ("Who designed the Zephyr Lighthouse?", "person"),
    ("When did Alan Turing die?", "date"),
    ("In what year was the lighthouse first lit?", "date"),
    ("How many keepers does the lighthouse have?", "number"),
    ("Is the Zephyr Lighthouse made of granite?", "yesno"),
    ("Which film was released first, Aas Ka Panchhi or Phoolwari?", "choice"),
    ("Who was born first out of Aivar Kuusmaa and Andy Summers?", "choice"),
    ("Which country is Brittany in?", "place"),
    ("What is the weather like?", "thing"),
    # the wh-word that asks, not a relative one, and the noun after it
    ("What is the population of the state where the Zephyr Lighthouse is?", "number"),
    ("Who was in charge of the country where Brittany is located?", "person"),
    ("Humboldt Peak, in the state where Silverton is located, is part of what mountain range?",
     "place"),
    ("What type of government did the country have when the lighthouse was lit?", "thing"),
    ("For what did the singer of Moon River win a Tony?", "thing"),
    ("The lighthouse was designed by Odile Farraway, who died on which date?", "date"),
    ("On the Knocking at the Gate is an essay by what English essayist?", "person"),
])
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_options_of_a_comparison() -> None:
    assert options_of("Which film came out first, Aas Ka Panchhi or Phoolwari?") == (
        "Aas Ka Panchhi", "Phoolwari")
    assert options_of("Who was born first out of Aivar Kuusmaa and Andy Summers?") == (
        "Aivar Kuusmaa", "Andy Summers")
    assert options_of("Who designed the lighthouse?") is None


def test_typed_answers(known: KnownNamesTagger) -> None:
    sources = [TURING, LIGHTHOUSE]
    assert short_answer("Where was Alan Turing born?", sources, known) == "London"
    assert short_answer("Who designed the Zephyr Lighthouse?", [LIGHTHOUSE, TURING],
                        known) == "Marisol Quenby"
    assert short_answer("When was Alan Turing born?", sources, known) == "23 June 1912"


def test_dates_and_numbers_without_spacy() -> None:
    regex = RegexTagger()
    assert short_answer("In what year was the Zephyr Lighthouse first lit?", [LIGHTHOUSE],
                        regex) == "1893"
    assert short_answer("How many keepers does the Zephyr Lighthouse have?", [LIGHTHOUSE],
                        regex) == "3"
    assert short_answer("Who designed the Zephyr Lighthouse?", [LIGHTHOUSE], regex) is None


@pytest.mark.parametrize(("question", "expected"), [
    ("Which film was released first, Aas Ka Panchhi or Phoolwari?", "Phoolwari"),
    ("Which film was released more recently, Aas Ka Panchhi or Phoolwari?", "Aas Ka Panchhi"),
])
def test_comparison_by_dates(question: str, expected: str) -> None:
    assert short_answer(question, [FILM_A, FILM_B], RegexTagger()) == expected


PEAK_A = Source("Muztagh Ata", "Muztagh Ata is a mountain in Xinjiang, first climbed in 1956. "
                               "Its elevation is 7,546 metres.")
PEAK_B = Source("Manaslu", "Manaslu, climbed in 1956 by a Japanese team, is 8,163 metres high.")
LIFE_A = Source("Edward Albee", "Edward Albee (March 12, 1928 - September 16, 2016) was an "
                                "American playwright.")
LIFE_B = Source("J. M. Barrie", "Sir James Matthew Barrie (9 May 1860 - 19 June 1937) was a "
                                "Scottish novelist and playwright.")


def test_comparison_by_the_value_near_the_question_words_and_by_life_length() -> None:
    regex = RegexTagger()
    # the elevation, not the year first climbed
    assert short_answer("Which peak stands higher, Muztagh Ata or Manaslu?", [PEAK_A, PEAK_B],
                        regex) == "Manaslu"
    assert short_answer("Which playwright lived a longer life, Edward Albee or J. M. Barrie?",
                        [LIFE_A, LIFE_B], regex) == "Edward Albee"
    assert short_answer("Which playwright lived a longer life, J. M. Barrie or Edward Albee?",
                        [LIFE_B, LIFE_A], regex) == "Edward Albee"


def test_a_title_line_is_not_glued_to_the_first_sentence(known: KnownNamesTagger) -> None:
    titled = Source("Alan Turing: codebreaking", "# Alan Turing: codebreaking\nAlan Mathison "
                                                 "Turing was born in **London** on 23 June 1912.")
    assert sentences_of(titled) == ["Alan Mathison Turing was born in London on 23 June 1912."]
    assert short_answer("Where was Alan Turing born?", [titled], known) == "London"


FRENCH_A = Source("Odile Farraway", "Odile Farraway was a French architect. She designed the "
                                     "Zephyr Lighthouse.")
FRENCH_B = Source("Teodor Vashti", "Teodor Vashti was a French engineer born in Lyon.")
GERMAN = Source("Anselm Korvath", "Anselm Korvath was a German miller born in Bremen.")


def test_yes_no_by_agreement_of_attributes_and_never_a_guess(known: KnownNamesTagger) -> None:
    same = "Are Odile Farraway and Teodor Vashti both French?"
    assert short_answer(same, [FRENCH_A, FRENCH_B], known) == "yes"
    differ = "Were Odile Farraway and Anselm Korvath of the same nationality?"
    assert short_answer(differ, [FRENCH_A, GERMAN], known) == "no"
    # a yes/no question that compares nothing it can read gets no short answer, not "yes"
    assert short_answer("Is the Zephyr Lighthouse in Brittany?", [LIGHTHOUSE], known) is None
    assert short_answer("Where was Alan Turing born?", [], RegexTagger()) is None


def test_the_answer_leads() -> None:
    answer = lead_with(Answer("Alan Turing was born in London. [1]", []), "London")
    assert answer.text == "London.\nAlan Turing was born in London. [1]"
    assert lead_with(answer, None) is answer


def test_date_key_orders_dates() -> None:
    assert date_key("20 March 851") == (851, 3, 20)
    assert date_key("June 3, 1912") == (1912, 6, 3)
    assert date_key("March") is None
    assert date_key("1 May 1900") < date_key("2 May 1900")  # type: ignore[operator]


def test_the_names_the_graph_knows_type_the_short_answer_without_a_model() -> None:
    """What the server uses: the passages' entities as the graph typed them when it was built
    (longest name first, whole words only), with dates and numbers by pattern."""
    known = KnownNamesTagger([("London", "GPE"), ("Alan Turing", "PERSON"), ("Turing", "PERSON"),
                              ("King's College", "ORG"), ("Lond", "GPE")])
    [spans] = known.tag(["Alan Turing was born in London on 23 June 1912."])
    assert [(s.text, s.label, s.start) for s in spans] == [
        ("Alan Turing", "PERSON", 0), ("London", "GPE", 24), ("23 June 1912", "DATE", 34)]
    assert short_answer("Where was Alan Turing born?", [TURING], known) == "London"
    assert short_answer("When did Alan Turing die?", [TURING], known) == "1954"


def test_a_lowercase_name_is_no_answer_and_a_name_counts_once_a_sentence() -> None:
    # the graph took "spectre" for a person; "Fezziwig" is written twice in one sentence
    tagger = KnownNamesTagger([("spectre", "PERSON"), ("Jacob Marley", "PERSON"),
                               ("Fezziwig", "PERSON"), ("Scrooge", "PERSON")])
    cast = Source("A Christmas Carol", "Ghost of Jacob Marley, a spectre of Scrooge's former "
                                       "partner in business.\nMrs. Fezziwig, the worthy partner "
                                       "of Mr. Fezziwig.")
    assert tagger.tag(["a spectre"]) == [[]]
    assert short_answer("Who was Scrooge's business partner?", [cast], tagger) == "Jacob Marley"


MARK_I = Source("Harvard Mark I", "The Harvard Mark I, which IBM called the Automatic Sequence "
                                  "Controlled Calculator, was proposed by Howard Aiken of Harvard "
                                  "University in 1937. IBM built the machine at Endicott.")
HOPPER = Source("Grace Hopper: from the Harvard Mark I to COBOL",
                "Hopper stayed with Aiken's group to work on the Mark II and Mark III.")
MACHINE_NAMES = [("Harvard Mark I", "ORG"), ("IBM", "ORG"), ("Howard Aiken", "PERSON"),
                 ("Harvard University", "ORG"), ("Endicott", "GPE"), ("Hopper", "ORG"),
                 ("Aiken", "ORG"), ("Mark II", "LAW"), ("Mark III", "PERSON"),
                 ("Henry VII", "PERSON"), ("Henry VIII", "PERSON")]
"""As the example documents' graph labels them: spaCy took "Mark III" for a person."""


def test_a_version_of_the_thing_asked_about_is_not_who_made_it() -> None:
    """"Mark III" sits next to the question's word "Mark" and is labelled a person, but it is
    another version of the machine the question names: no answer to "who" (it was, in the
    example documents)."""
    known = KnownNamesTagger(MACHINE_NAMES)
    assert short_answer("Who designed the Harvard Mark I?", [HOPPER, MARK_I],
                        known) == "Howard Aiken"
    # a version of a person the question names is a person: Henry VII's successor
    tudor = Source("Henry VII", "Henry VII was succeeded by his son Henry VIII in 1509.")
    assert short_answer("Who succeeded Henry VII?", [tudor], known) == "Henry VIII"


def test_when_did_he_die_reads_died() -> None:
    """"die" in the question meets "died" in the passage (the example documents answered the
    birth date's neighbour, 1936, when it did not)."""
    known = KnownNamesTagger([("Alan Mathison Turing", "PERSON"), ("London", "GPE"),
                              ("Princeton", "GPE"), ("Wilmslow", "GPE")])
    life = [Source("Alan Turing: universal machines", "Alan Mathison Turing was born in London "
                   "on 23 June 1912. In 1936 he wrote a paper on computable numbers."),
            Source("John von Neumann", "There he met the young Alan Turing, a student at "
                   "Princeton from 1936 to 1938."),
            Source("Alan Turing: universal machines", "Turing was prosecuted in 1952 for "
                   "homosexual acts and died at Wilmslow on 7 June 1954.")]
    assert short_answer("When did Alan Turing die?", life, known) == "7 June 1954"


def test_a_measure_written_without_commas_is_a_number_not_a_year() -> None:
    [spans] = RegexTagger().tag(["Manaslu rises to 8163 m; in 1956 it had 12345 visitors."])
    assert [(s.text, s.label) for s in spans] == [
        ("8163", "CARDINAL"), ("1956", "DATE"), ("12345", "CARDINAL")]
    bare = [Source("Muztagh Ata", "Muztagh Ata, first climbed in 1956, is the second highest "
                                  "(7509 metres) of the mountains of the northern Tibetan "
                                  "Plateau."),
            Source("Manaslu", "Manaslu is the eighth highest mountain in the world at 8163 m "
                              "above sea level.")]
    assert short_answer("Which peak stands higher, Muztagh Ata or Manaslu?", bare,
                        RegexTagger()) == "Manaslu"


def test_a_choice_without_a_comparison_is_the_option_its_passage_describes() -> None:
    films = [Source("Don Quixote", "Don Quixote is a 1933 film directed by G. W. Pabst, an "
                                   "adaptation of the novel."),
             Source("The Million Dollar Duck", "The Million Dollar Duck is a 1971 American "
                                               "comedy film produced by Walt Disney.")]
    # no word says earlier or larger: not the earlier film, the comedy
    assert short_answer("Which is a comedy film, Don Quixote or The Million Dollar Duck?",
                        films, RegexTagger()) == "The Million Dollar Duck"
    # both passages hold the question's words as much: compared by date as before
    assert short_answer("Which film, Don Quixote or The Million Dollar Duck?", films,
                        RegexTagger()) == "Don Quixote"


def test_a_town_written_with_its_region_is_answered_whole_unless_the_region_is_asked() -> None:
    known = KnownNamesTagger([("Allan Kroeker", "PERSON"), ("Winnipeg", "GPE"),
                              ("Manitoba", "GPE"), ("Canadian", "NORP"),
                              ("New York", "GPE")])
    director = [Source("Allan Kroeker", "Allan Kroeker (born February 29, 1960 in Winnipeg, "
                                        "Manitoba) is a Canadian film director."),
                Source("Harriet Vell", "Harriet Vell was born in New York, New York, and "
                                       "directed two films.")]
    assert short_answer("Where was Allan Kroeker born?", director, known) == "Winnipeg, Manitoba"
    # "what province" asks for one place: the spans as written, never "town, region"
    assert short_answer("In what province was Allan Kroeker born?", director,
                        known) in ("Winnipeg", "Manitoba")
    # a name written twice ("New York, New York") is one place
    assert short_answer("Where was Harriet Vell born?", director, known) == "New York"
