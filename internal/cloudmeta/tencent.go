package cloudmeta

import "context"

// Tencent Cloud CVM: plain-text items under /latest/meta-data/, no token.
const tencentMeta = "/latest/meta-data/"

func queryTencent(ctx context.Context, f *fetcher, id *Identity) error {
	iid, err := f.text(ctx, tencentMeta+"instance-id")
	if err != nil {
		return err
	}
	id.InstanceID = iid
	id.Region = f.optional(ctx, tencentMeta+"placement/region")
	id.Zone = f.optional(ctx, tencentMeta+"placement/zone")
	id.Account = f.optional(ctx, tencentMeta+"app-id")
	id.InstanceType = f.optional(ctx, tencentMeta+"instance/instance-type")
	id.PrivateIPs = addIPs(id.PrivateIPs, f.optional(ctx, tencentMeta+"local-ipv4"))
	return nil
}
