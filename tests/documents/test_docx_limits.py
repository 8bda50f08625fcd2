"""A ``.docx`` is refused before it is parsed when its XML holds more elements than python-docx
may build a tree of (an element bomb: tens of kilobytes that unpack to millions of elements),
and a document just under the bound reads."""

from __future__ import annotations

import pytest

from graphready.documents.docx import MAX_XML_ELEMENTS, read_docx
from graphready.documents.loaders import load_bytes
from support.hostile_files import docx_elements


def test_an_element_bomb_is_refused_with_the_reason_before_it_is_parsed() -> None:
    bomb = docx_elements(MAX_XML_ELEMENTS + 1)
    assert len(bomb) < 150_000  # a small upload, far under every size limit
    result = load_bytes("bomb.docx", bomb)
    assert result.documents == []
    [skip] = result.skipped
    assert skip.path == "bomb.docx"
    assert f"over {MAX_XML_ELEMENTS:,} elements" in skip.reason, skip.reason
    assert "word/document.xml" in skip.reason


def test_the_bound_counts_elements_not_closing_tags() -> None:
    paragraphs = 20_000
    element = b"<w:p><w:r><w:t>otter</w:t></w:r></w:p>"  # three elements, six tags
    data = docx_elements(paragraphs, element)
    template = 20_000  # python-docx's template (styles, settings, ...) holds ~18,700
    bound = 3 * paragraphs + template  # under the 120,000 tags of the paragraphs alone
    assert read_docx(data, max_elements=bound).text.count("otter") == paragraphs
    with pytest.raises(ValueError, match="over 59,999 elements"):
        read_docx(data, max_elements=3 * paragraphs - 1)
