"""The hostile corpus: bad and everyday-broken extracts, and what validate must do with each."""
