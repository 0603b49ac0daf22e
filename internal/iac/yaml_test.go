package iac

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestDecodeYAML(t *testing.T) {
	src := `# comment
base: &base
  image: nginx:1.27
  ports: [80, 443]
svc:
  name: web
  <<: *base
  image: nginx:1.28
  ratio: 0.5
  on: true
---
---
kind: Second
`
	docs, err := DecodeYAML([]byte(src), YAMLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 {
		t.Fatalf("%d documents, want 2 (the empty one skipped)", len(docs))
	}
	svc := docs[0].Value.(map[string]any)["svc"].(map[string]any)
	want := map[string]any{"name": "web", "image": "nginx:1.28", "ports": []any{int64(80), int64(443)}, "ratio": 0.5, "on": true}
	if !reflect.DeepEqual(svc, want) {
		t.Errorf("svc = %#v, want %#v", svc, want)
	}
	lines := docs[0].Lines
	for path, want := range map[string]Range{
		"svc":        {5, 10},
		"svc.image":  {8, 8}, // written in the map, not merged from line 3
		"svc.name":   {6, 6},
		"base.ports": {4, 4},
	} {
		if got := lines[path]; got != want {
			t.Errorf("line of %s = %v, want %v", path, got, want)
		}
	}
	if docs[1].Range.StartLine != 13 {
		t.Errorf("second document starts at %d, want 13", docs[1].Range.StartLine)
	}
}

func TestDecodeYAMLTags(t *testing.T) {
	docs, err := DecodeYAML([]byte("a: !Ref Bucket\nb: !GetAtt [X, Arn]\n"), YAMLOptions{Tag: func(tag string, v any) any {
		return map[string]any{strings.TrimPrefix(tag, "!"): v}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got := docs[0].Value
	want := map[string]any{"a": map[string]any{"Ref": "Bucket"}, "b": map[string]any{"GetAtt": []any{"X", "Arn"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestDecodeYAMLBounds(t *testing.T) {
	// A billion laughs: nine levels of ten aliases.
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	if _, err := DecodeYAML([]byte(b.String()), YAMLOptions{}); !errors.Is(err, ErrAliasBomb) {
		t.Errorf("alias bomb: err = %v, want ErrAliasBomb", err)
	}
	// Many small bombs share one budget per file.
	small := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	many := strings.Repeat(small+"---\n", 1000)
	if _, err := DecodeYAML([]byte(many), YAMLOptions{}); !errors.Is(err, ErrAliasBomb) {
		t.Errorf("many small bombs: err = %v, want ErrAliasBomb", err)
	}
	deep := strings.Repeat("[", 200) + strings.Repeat("]", 200)
	if _, err := DecodeYAML([]byte(deep), YAMLOptions{}); !errors.Is(err, ErrTooDeep) {
		t.Errorf("deep nesting: err = %v, want ErrTooDeep", err)
	}
	if _, err := DecodeYAML([]byte(strings.Repeat("a: 1\n---\n", 20)), YAMLOptions{MaxDocs: 5}); !errors.Is(err, ErrTooMany) {
		t.Errorf("documents: err = %v, want ErrTooMany", err)
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize(map[any]any{"n": 3.0, "f": 2.5, "i": 7, "l": []any{uint(1), float32(0.5)}})
	want := map[string]any{"n": int64(3), "f": 2.5, "i": int64(7), "l": []any{int64(1), 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func FuzzDecodeYAML(f *testing.F) {
	f.Add([]byte("a: &x [1, 2]\nb: *x\n<<: {c: 3}\n---\nkind: Pod\n"))
	f.Add([]byte(`{"apiVersion": "v1", "items": [{"a": 1.5e3}]}`))
	f.Add([]byte("a: !Ref b\nc: !Sub '${x}'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := DecodeYAML(data, YAMLOptions{Tag: func(tag string, v any) any { return map[string]any{tag: v} }})
		if err != nil {
			return
		}
		for _, d := range docs {
			for p, r := range d.Lines {
				if r.StartLine > r.EndLine || r.StartLine < 0 {
					t.Fatalf("%s: bad range %v", p, r)
				}
			}
		}
	})
}

func TestDecodeYAML11AndNulls(t *testing.T) {
	src := "a: yes\nb: \"yes\"\nc: off\nd: null\ne: ~\nf: [1, null]\ng:\n"
	docs, err := DecodeYAML([]byte(src), YAMLOptions{YAML11Bools: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"a": true, "b": "yes", "c": false, "f": []any{int64(1), nil}}
	if got := docs[0].Value; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if _, ok := docs[0].Lines["d"]; ok {
		t.Error("a null key keeps a line entry")
	}
	docs, _ = DecodeYAML([]byte(src), YAMLOptions{})
	if docs[0].Value.(map[string]any)["a"] != "yes" {
		t.Error("YAML 1.2 reading must keep yes a string")
	}
}
