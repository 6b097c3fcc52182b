"""English and Hindi wording: the one glossary of terms, role and status labels, months and dates."""
