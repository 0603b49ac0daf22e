package cloudformation

import "strings"

// shortForm turns a YAML short-form intrinsic into its long form:
// !Ref x → {"Ref": x}, !GetAtt a.b → {"Fn::GetAtt": ["a", "b"]},
// !Condition c → {"Condition": c}, !Sub s → {"Fn::Sub": s} and so on for
// every other !Name. Tags that are not short-form intrinsics (local tags
// with punctuation, URIs) leave the value as it is.
func shortForm(tag string, v any) any {
	name, ok := strings.CutPrefix(tag, "!")
	if !ok || name == "" || strings.ContainsAny(name, "!:/<>.%") {
		return v
	}
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, found := strings.Cut(s, ".")
			if !found {
				return map[string]any{"Fn::GetAtt": []any{s}}
			}
			return map[string]any{"Fn::GetAtt": []any{res, attr}}
		}
	}
	return map[string]any{"Fn::" + name: v}
}
