package secret

// DefaultRules returns every built-in rule, freshly allocated. The rule sets
// live one per file by family: cloud providers (rules_cloud.go), developer
// platforms and SaaS (rules_dev.go), keys, certificates, tokens and
// connection strings (rules_keys.go), and generic assignments
// (rules_generic.go).
func DefaultRules() []*Rule {
	var out []*Rule
	for _, set := range [][]*Rule{cloudRules(), devRules(), keyRules(), genericRules()} {
		out = append(out, set...)
	}
	return out
}
