package secret

import (
	"regexp"

	"github.com/vigil-sec/vigil/internal/finding"
)

// Rule is one detector.
type Rule struct {
	// ID is stable and kebab-case: "alibaba-access-key-id".
	ID          string
	Description string
	Severity    finding.Severity
	// Tags group rules ("cloud", "alibaba", "key", "generic").
	Tags []string
	// Keywords are literals (matched case-insensitively) of which at least
	// one must occur near a candidate; the Aho-Corasick prefilter finds them
	// and the expression runs only on the lines around each hit. Every rule
	// has at least one keyword of three or more bytes.
	Keywords []string
	// Regex matches a candidate within a window of lines. The secret is the
	// submatch named "secret", else the first group, else the whole match.
	Regex *regexp.Regexp
	// Entropy is the least Shannon entropy (bits per byte) the secret must
	// have; 0 disables the check.
	Entropy float64
	// Validate, when set, checks the secret's format beyond the expression
	// (a checksum, a decodable payload); false drops the candidate.
	Validate func(secret string) bool
	// Pair names a rule whose match must lie within PairLines lines for
	// this rule to report (an AWS secret key near an access key id); the
	// finding then records both.
	Pair      string
	PairLines int
	// Examples must each produce exactly one finding of this rule;
	// NonExamples (placeholders, test values, near misses) must produce
	// none. The rule tests run them all.
	Examples    []string
	NonExamples []string
}

// Finding is one secret found. It never holds the secret in clear.
type Finding struct {
	RuleID      string           `json:"ruleId"`
	Description string           `json:"description"`
	Severity    finding.Severity `json:"severity"`
	Location
	Line   int `json:"line"`
	Column int `json:"column"`
	// Redacted shows the secret's first few characters and its length
	// ("LTAI5t…(24)"), enough for a person to recognise it.
	Redacted string `json:"redacted"`
	// Fingerprint is stable for the same rule and secret wherever it
	// appears: baselines and inline ignores refer to it.
	Fingerprint string `json:"fingerprint"`
	// Paired is the Redacted form of the companion secret, for paired rules.
	Paired string `json:"paired,omitempty"`
	// Suppressed says why the finding does not count: an inline
	// "vigil:ignore" comment or a baseline entry. Suppressed findings are
	// kept for the record; gates ignore them.
	Suppressed string `json:"suppressed,omitempty"`
}

// Location says where bytes came from.
type Location struct {
	// Path is the file path, with "!" separating archive members
	// ("app.jar!/BOOT-INF/application.yml").
	Path string `json:"path"`
	// Git history.
	Commit string `json:"commit,omitempty"`
	Author string `json:"author,omitempty"`
	Date   string `json:"date,omitempty"` // RFC 3339
	// Image layers.
	Layer      string `json:"layer,omitempty"` // DiffID
	LayerIndex int    `json:"layerIndex,omitempty"`
	CreatedBy  string `json:"createdBy,omitempty"`
}
