"""Graph curation: edits that people make to the extracted graph (merge, rename, delete,
add a relation), kept apart from it in the data dir's edit log (:mod:`.log`) and applied, in
order, after every assembly of the graph (:mod:`.apply`), so that they survive rebuilds and
document changes. The edits themselves, and how they are checked, are :mod:`.edits`."""
