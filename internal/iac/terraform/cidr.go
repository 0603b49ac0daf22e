package terraform

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/gocty"
)

// parsePrefix reads a CIDR the way Terraform does: host bits may be set
// and are ignored.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR expression: %w", err)
	}
	return p.Masked(), nil
}

func addrInt(a netip.Addr) *big.Int { return new(big.Int).SetBytes(a.AsSlice()) }

func intAddr(n *big.Int, v4 bool) (netip.Addr, error) {
	size := 16
	if v4 {
		size = 4
	}
	if n.Sign() < 0 || n.BitLen() > size*8 {
		return netip.Addr{}, errors.New("address out of range")
	}
	b := n.FillBytes(make([]byte, size))
	a, _ := netip.AddrFromSlice(b)
	return a, nil
}

// subnet returns the netnum'th subnet of p with newbits more bits.
func subnet(p netip.Prefix, newbits int, netnum *big.Int) (netip.Prefix, error) {
	bits := p.Addr().BitLen()
	newLen := p.Bits() + newbits
	if newbits < 0 || newLen > bits {
		return netip.Prefix{}, fmt.Errorf("insufficient address space to extend prefix of %d by %d", p.Bits(), newbits)
	}
	if netnum.Sign() < 0 || netnum.BitLen() > newbits {
		return netip.Prefix{}, fmt.Errorf("prefix extension of %d does not accommodate a subnet numbered %s", newbits, netnum)
	}
	n := new(big.Int).Lsh(netnum, uint(bits-newLen))
	n.Or(n, addrInt(p.Addr()))
	a, err := intAddr(n, p.Addr().Is4())
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, newLen), nil
}

func cidrSubnetFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "prefix", Type: cty.String},
			{Name: "newbits", Type: cty.Number},
			{Name: "netnum", Type: cty.Number},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			var newbits int
			if err := gocty.FromCtyValue(args[1], &newbits); err != nil {
				return cty.NilVal, fmt.Errorf("newbits: %w", err)
			}
			netnum, acc := args[2].AsBigFloat().Int(nil)
			if acc != big.Exact {
				return cty.NilVal, errors.New("netnum must be a whole number")
			}
			s, err := subnet(p, newbits, netnum)
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(s.String()), nil
		},
	})
}

func cidrHostFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{
			{Name: "prefix", Type: cty.String},
			{Name: "hostnum", Type: cty.Number},
		},
		Type: function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			host, acc := args[1].AsBigFloat().Int(nil)
			if acc != big.Exact {
				return cty.NilVal, errors.New("hostnum must be a whole number")
			}
			hostBits := uint(p.Addr().BitLen() - p.Bits())
			size := new(big.Int).Lsh(big.NewInt(1), hostBits)
			if host.Sign() < 0 {
				host.Add(host, size) // counting from the end of the range
			}
			if host.Sign() < 0 || host.Cmp(size) >= 0 {
				return cty.NilVal, fmt.Errorf("prefix of %d does not accommodate a host numbered %s", p.Bits(), args[1].AsBigFloat().String())
			}
			a, err := intAddr(host.Or(host, addrInt(p.Addr())), p.Addr().Is4())
			if err != nil {
				return cty.NilVal, err
			}
			return cty.StringVal(a.String()), nil
		},
	})
}

func cidrNetmaskFunc() function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "prefix", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			if !p.Addr().Is4() {
				return cty.NilVal, errors.New("only IPv4 prefixes have a netmask")
			}
			m := uint32(0xffffffff) << (32 - p.Bits())
			if p.Bits() == 0 {
				m = 0
			}
			return cty.StringVal(netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}).String()), nil
		},
	})
}

// cidrSubnetsFunc allocates consecutive subnets of the given sizes, each
// aligned to its own size, as Terraform's cidrsubnets does.
func cidrSubnetsFunc() function.Function {
	return function.New(&function.Spec{
		Params:   []function.Parameter{{Name: "prefix", Type: cty.String}},
		VarParam: &function.Parameter{Name: "newbits", Type: cty.Number},
		Type:     function.StaticReturnType(cty.List(cty.String)),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			p, err := parsePrefix(args[0].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			if len(args) == 1 {
				return cty.ListValEmpty(cty.String), nil
			}
			bits := p.Addr().BitLen()
			base := addrInt(p.Addr())
			end := new(big.Int).Add(base, new(big.Int).Lsh(big.NewInt(1), uint(bits-p.Bits())))
			next := new(big.Int).Set(base)
			out := make([]cty.Value, 0, len(args)-1)
			for i, a := range args[1:] {
				var nb int
				if err := gocty.FromCtyValue(a, &nb); err != nil {
					return cty.NilVal, fmt.Errorf("newbits %d: %w", i, err)
				}
				newLen := p.Bits() + nb
				if nb < 1 || newLen > bits {
					return cty.NilVal, fmt.Errorf("newbits %d: cannot extend prefix of %d by %d", i, p.Bits(), nb)
				}
				step := new(big.Int).Lsh(big.NewInt(1), uint(bits-newLen))
				// Align next up to a multiple of step.
				rem := new(big.Int).Mod(new(big.Int).Sub(next, base), step)
				if rem.Sign() != 0 {
					next.Add(next, new(big.Int).Sub(step, rem))
				}
				if new(big.Int).Add(next, step).Cmp(end) > 0 {
					return cty.NilVal, fmt.Errorf("not enough remaining address space for a subnet with a prefix of %d bits", newLen)
				}
				addr, err := intAddr(next, p.Addr().Is4())
				if err != nil {
					return cty.NilVal, err
				}
				out = append(out, cty.StringVal(netip.PrefixFrom(addr, newLen).String()))
				next.Add(next, step)
			}
			return cty.ListVal(out), nil
		},
	})
}
