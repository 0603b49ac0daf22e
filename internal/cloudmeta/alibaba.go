package cloudmeta

import (
	"context"
	"net/http"
)

// Alibaba Cloud ECS: plain-text items under /latest/meta-data/. In security
// hardening mode a token PUT for first must accompany every GET; in normal
// mode the token request may fail and the GETs go without it.
const (
	alibabaTokenPath = "/latest/api/token"
	alibabaTokenTTL  = "X-aliyun-ecs-metadata-token-ttl-seconds"
	alibabaTokenHdr  = "X-aliyun-ecs-metadata-token"
	alibabaMeta      = "/latest/meta-data/"
)

func queryAlibaba(ctx context.Context, f *fetcher, id *Identity) error {
	if tok, _, err := f.do(ctx, http.MethodPut, alibabaTokenPath, http.Header{alibabaTokenTTL: {"60"}}, 1<<10); err == nil {
		if token, err := parseText(tok); err == nil {
			f.hdr = http.Header{alibabaTokenHdr: {token}}
		}
	}
	iid, err := f.text(ctx, alibabaMeta+"instance-id")
	if err != nil {
		return err
	}
	id.InstanceID = iid
	id.Region = f.optional(ctx, alibabaMeta+"region-id")
	id.Zone = f.optional(ctx, alibabaMeta+"zone-id")
	id.Account = f.optional(ctx, alibabaMeta+"owner-account-id")
	id.InstanceType = f.optional(ctx, alibabaMeta+"instance/instance-type")
	id.PrivateIPs = addIPs(id.PrivateIPs, f.optional(ctx, alibabaMeta+"private-ipv4"))
	return nil
}
