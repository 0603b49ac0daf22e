// Package results turns one run of bench/sbom.sh — times.tsv (wall time
// and peak RSS of every run), env.tsv (date, tool versions, load),
// corpora.tsv and the SBOMs in sbom/ — into bench/RESULTS.md (machine,
// tables, ratios, the goals met or not) and bench/results/*.md (the
// full lists of packages one tool reports and another does not). Only
// bench/cmd/sbombench imports it.
package results
