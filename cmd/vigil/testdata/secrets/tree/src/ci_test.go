package ci

// A revoked token kept as a regression case for the token parser.
const revokedToken = "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" // vigil:ignore github-pat revoked in 2025, kept as a parser regression case
