package ehtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/streamhunt/streamhunt/internal/amqp"
)

// Token types of a $cbs put-token request.
const (
	tokenTypeSAS = "servicebus.windows.net:sastoken"
	tokenTypeJWT = "jwt"
)

// rpc answers one request on a $cbs or $management link. The response goes
// to the client receiver named by reply-to, after the injected delay.
func (c *conn) rpc(s *session, l *link, payload []byte) {
	var req amqp.Message
	if err := req.Unmarshal(payload); err != nil {
		c.log.Warn("ehtest: undecodable RPC request", zap.Error(err))
		return
	}
	props := map[string]any{}
	for _, e := range req.ApplicationProperties {
		if k, ok := e.Key.(string); ok {
			props[k] = e.Value
		}
	}
	var resp *amqp.Message
	source := "$cbs"
	if l.kind == kindCBSRequests {
		resp = c.putToken(&req, props)
	} else {
		source = "$management"
		resp = c.management(props)
	}
	var replyTo string
	resp.Properties = &amqp.Properties{}
	if req.Properties != nil {
		resp.Properties.CorrelationID = req.Properties.MessageID
		if req.Properties.ReplyTo != nil {
			replyTo = *req.Properties.ReplyTo
		}
	}
	enc, err := resp.Marshal()
	if err != nil {
		c.log.Error("ehtest: cannot encode an RPC response", zap.Error(err))
		return
	}
	send := func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return
		}
		rs, rl := c.findReplyLink(s, replyTo, source)
		if rl == nil {
			c.log.Debug("ehtest: no link to reply on", zap.String("replyTo", replyTo))
			return
		}
		rl.replies = append(rl.replies, enc)
		c.sendReplies(rs, rl)
		c.flush()
	}
	if c.srv.responseDelay.Load() > 0 {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			if c.sleepResponseDelay() {
				send()
			}
		}()
		return
	}
	send()
}

func statusResponse(code int32, desc string, value any) *amqp.Message {
	m := &amqp.Message{ApplicationProperties: amqp.Map{
		{Key: "status-code", Value: code},
		{Key: "status-description", Value: desc},
	}}
	if value != nil {
		m.Value, m.HasValue = value, true
	}
	return m
}

// putToken validates a $cbs put-token and records the claim.
func (c *conn) putToken(req *amqp.Message, props map[string]any) *amqp.Message {
	op, _ := props["operation"].(string)
	typ, _ := props["type"].(string)
	audience, _ := props["name"].(string)
	token, _ := req.Value.(string)
	if op != "put-token" || audience == "" {
		return statusResponse(400, fmt.Sprintf("Bad request: operation %q with audience %q; want put-token with a name", op, audience), nil)
	}
	var expiry time.Time
	var ok bool
	switch typ {
	case tokenTypeSAS:
		expiry, ok = c.srv.validSAS(token, audience)
	case tokenTypeJWT:
		if c.srv.opts.AcceptJWT != nil && c.srv.opts.AcceptJWT(token, audience) {
			ok = true
			expiry = c.srv.opts.Now().Add(time.Hour)
			if s, _ := props["expiration"].(string); s != "" {
				if sec, err := strconv.ParseInt(s, 10, 64); err == nil && sec > 0 {
					expiry = time.Unix(sec, 0)
				}
			}
		}
	}
	if !ok {
		c.log.Debug("ehtest: put-token refused", zap.String("audience", audience), zap.String("type", typ))
		return statusResponse(401, fmt.Sprintf("InvalidSignature: The token has an invalid signature, is expired, or does not cover '%s' (type %q).", audience, typ), nil)
	}
	c.mu.Lock()
	c.claims[strings.ToLower(trimAddress(audience))] = expiry
	c.mu.Unlock()
	return statusResponse(202, "Accepted", nil)
}

// validSAS checks a SharedAccessSignature token for the server's key and the
// audience, returning its expiry.
func (s *Server) validSAS(token, audience string) (time.Time, bool) {
	const prefix = "SharedAccessSignature "
	if !strings.HasPrefix(token, prefix) {
		return time.Time{}, false
	}
	f := map[string]string{}
	for _, kv := range strings.Split(token[len(prefix):], "&") {
		k, v, _ := strings.Cut(kv, "=")
		f[k] = v
	}
	if f["skn"] != s.opts.KeyName {
		return time.Time{}, false
	}
	mac := hmac.New(sha256.New, []byte(s.opts.Key))
	mac.Write([]byte(f["sr"] + "\n" + f["se"]))
	sig, err := url.QueryUnescape(f["sig"])
	if err != nil {
		return time.Time{}, false
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return time.Time{}, false
	}
	se, err := strconv.ParseInt(f["se"], 10, 64)
	expiry := time.Unix(se, 0)
	if err != nil || s.opts.Now().After(expiry) {
		return time.Time{}, false
	}
	sr, err := url.QueryUnescape(f["sr"])
	if err != nil {
		return time.Time{}, false
	}
	scope := strings.TrimSuffix(stripScheme(strings.ToLower(sr)), "/")
	aud := stripScheme(strings.ToLower(audience))
	return expiry, aud == scope || strings.HasPrefix(aud, scope+"/")
}

func stripScheme(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		return u[i+3:]
	}
	return u
}

// management answers a $management READ for an event hub or a partition.
func (c *conn) management(props map[string]any) *amqp.Message {
	op, _ := props["operation"].(string)
	typ, _ := props["type"].(string)
	name, _ := props["name"].(string)
	if op != "READ" {
		return statusResponse(400, fmt.Sprintf("Bad request: operation %q is not supported; only READ is", op), nil)
	}
	c.mu.Lock()
	ok := c.hasClaim(name + "/$management")
	c.mu.Unlock()
	if !ok {
		return statusResponse(401, fmt.Sprintf("Unauthorized access: no valid token was put on $cbs for '%s/$management'.", name), nil)
	}
	h, err := c.srv.hub(name)
	if err != nil {
		return statusResponse(404, fmt.Sprintf("The messaging entity '%s' could not be found.", name), nil)
	}
	switch typ {
	case "com.microsoft:eventhub":
		parts := h.partitionList()
		ids := make([]string, len(parts))
		for i, p := range parts {
			ids[i] = p.id
		}
		return statusResponse(200, "OK", amqp.Map{
			{Key: "name", Value: h.name},
			{Key: "type", Value: amqp.Symbol(typ)},
			{Key: "created_at", Value: h.created},
			{Key: "partition_count", Value: int32(len(ids))},
			{Key: "partition_ids", Value: amqp.StringArray(ids...)},
			{Key: "georeplication_factor", Value: int32(1)},
		})
	case "com.microsoft:partition":
		id, _ := props["partition"].(string)
		p := h.partition(id)
		if p == nil {
			return statusResponse(404, fmt.Sprintf("The messaging entity '%s/Partitions/%s' could not be found.", h.name, id), nil)
		}
		st := p.state()
		last := st.LastEnqueuedTime
		if st.Empty {
			last = time.UnixMilli(0).UTC()
		}
		return statusResponse(200, "OK", amqp.Map{
			{Key: "name", Value: h.name},
			{Key: "type", Value: amqp.Symbol(typ)},
			{Key: "partition", Value: p.id},
			{Key: "begin_sequence_number", Value: st.BeginSequenceNumber},
			{Key: "last_enqueued_sequence_number", Value: st.LastSequenceNumber},
			{Key: "last_enqueued_offset", Value: st.LastOffset},
			{Key: "last_enqueued_time_utc", Value: last},
			{Key: "is_partition_empty", Value: st.Empty},
		})
	}
	return statusResponse(400, fmt.Sprintf("Bad request: READ of type %q is not supported", typ), nil)
}
