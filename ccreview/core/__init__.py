"""The core every stage stands on: configuration, errors, identifiers, the vocabularies
shared by more than one stage (the attestation workbook's layout, the findings' columns),
the run history store, logging redaction, progress bars and the output folder's lock.
It imports nothing from the stages above it."""
