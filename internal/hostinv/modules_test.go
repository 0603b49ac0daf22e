package hostinv

import (
	"reflect"
	"testing"
)

const procModules = `nf_tables 290816 0 - Live 0x0000000000000000
xt_conntrack 16384 1 - Live 0xffffffffc0a00000
nf_conntrack 180224 2 nf_nat,xt_conntrack, Live 0x0000000000000000
vboxdrv 565248 2 vboxnetadp,vboxnetflt, Live 0xffffffffc0b00000 (OE)
loading_mod 4096 - - Loading 0x0000000000000000
`

func TestParseModules(t *testing.T) {
	mods, probs := parseModules([]byte(procModules), 100)
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	want := []Module{
		{Name: "nf_tables", Size: 290816, RefCount: 0, State: "Live"},
		{Name: "xt_conntrack", Size: 16384, RefCount: 1, State: "Live"},
		{Name: "nf_conntrack", Size: 180224, RefCount: 2, Deps: []string{"nf_nat", "xt_conntrack"}, State: "Live"},
		{Name: "vboxdrv", Size: 565248, RefCount: 2, Deps: []string{"vboxnetadp", "vboxnetflt"}, State: "Live", Taints: "OE"},
		{Name: "loading_mod", Size: 4096, RefCount: -1, State: "Loading"},
	}
	if !reflect.DeepEqual(mods, want) {
		t.Errorf("got %+v\nwant %+v", mods, want)
	}
}

func TestParseModulesProblems(t *testing.T) {
	in := "a 1 0 - Live 0x0\nb x 0 - Live 0x0\nc 1 -5 - Live 0x0\nd 1\na 1 0 - Live 0x0\ne 1 0 - Live 0x0\nf 1 0 - Live 0x0\ng 1 0 - Live 0x0\n"
	mods, probs := parseModules([]byte(in), 2)
	var lines []int
	for _, p := range probs {
		lines = append(lines, p.line)
	}
	if len(mods) != 2 || mods[0].Name != "a" || mods[1].Name != "e" {
		t.Errorf("modules %+v, want a and e", mods)
	}
	if want := []int{2, 3, 4, 5, 7}; !reflect.DeepEqual(lines, want) {
		t.Errorf("problem lines %v, want %v", lines, want)
	}
}

func FuzzParseModules(f *testing.F) {
	f.Add([]byte(procModules))
	f.Add([]byte("x 1 - ,,, Live 0 ()\n\n y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mods, _ := parseModules(data, 20)
		if len(mods) > 20 {
			t.Fatalf("%d modules, limit 20", len(mods))
		}
		for _, m := range mods {
			if m.Name == "" || m.RefCount < -1 {
				t.Fatalf("bad module %+v", m)
			}
		}
	})
}
