"""Camera sources: :mod:`.spec` parses them (no heavy imports), :mod:`.readers` opens them."""
