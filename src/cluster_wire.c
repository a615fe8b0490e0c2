/* cluster_wire.c -- what the nodes write to Redis (see cluster_wire.h). */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cluster_wire.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void wire_alive_key(char out[WIRE_KEY_MAX], const char *node)
{
    snprintf(out, WIRE_KEY_MAX, "sse:alive:%s", node);
}

void wire_node_key(char out[WIRE_KEY_MAX], const char *node, const char *suffix)
{
    snprintf(out, WIRE_KEY_MAX, "sse:node:%s%s", node, suffix ? suffix : "");
}

void wire_node_keys(struct wire_node_keys *k, const char *node)
{
    wire_node_key(k->conns, node, NULL);
    wire_node_key(k->users, node, ":u");
    wire_node_key(k->addrs, node, ":a");
    wire_node_key(k->claims, node, ":s");
}

void wire_cmd_channel(char out[WIRE_KEY_MAX], const char *node)
{
    snprintf(out, WIRE_KEY_MAX, "sse:cmd:%s", node);
}

void wire_claim(char *out, size_t cap, enum conn_type type, const char *name, const char *client)
{
    if (type == CONN_DISPLAY)
        snprintf(out, cap, "d:%s", name);
    else if (client && *client)
        snprintf(out, cap, "a:%s\n%s", name, client);
    else if (cap)
        out[0] = '\0';
}

/* A command that a paused Redis runs late, after its sender answered 503,
 * must not act: both scripts check the deadline against Redis's clock. */
#define LATE(deadline) \
    "local now = redis.call('TIME')\n" \
    "if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(" deadline ") then\n"

const char wire_publish_script[] =
    LATE("ARGV[7]") "  return 0\nend\n"
    "local id\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  id = tonumber(ARGV[2])\n"
    "  redis.call('SET', KEYS[1], id)\n"
    "else\n"
    "  id = redis.call('INCR', KEYS[1])\n"
    "end\n"
    "redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], id .. '-1',\n"
    "           'n', ARGV[3], 'd', ARGV[4], 'f', ARGV[5], 't', ARGV[6])\n"
    "return id\n";

const char wire_seq_floor_script[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "local start, mine = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "if not cur then\n"
    "  cur = math.max(start, mine)\n"
    "  redis.call('SET', KEYS[1], string.format('%d', cur))\n"
    "elseif tonumber(cur) < mine then\n"
    "  cur = mine\n"
    "  redis.call('SET', KEYS[1], string.format('%d', cur))\n"
    "end\n"
    "return tonumber(cur)\n";

const char wire_send_script[] =
    LATE("ARGV[3]") "  return -1\nend\n"
    "return redis.call('PUBLISH', ARGV[1], ARGV[2])\n";

const char wire_admit_script[] =
    "local me, user, addr, claim = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
    "local max_user, max_addr = tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "local nu, na = 0, 0\n"
    "local hnode, hval\n"
    "for _, n in ipairs(redis.call('HKEYS', 'sse:nodes')) do\n"
    "  if n == me or redis.call('EXISTS', 'sse:alive:' .. n) == 1 then\n"
    "    local k = 'sse:node:' .. n\n"
    "    if user ~= '' then nu = nu + tonumber(redis.call('HGET', k .. ':u', user) or '0') end\n"
    "    if addr ~= '' then na = na + tonumber(redis.call('HGET', k .. ':a', addr) or '0') end\n"
    "    if claim ~= '' and n ~= me then\n"
    "      local v = redis.call('HGET', k .. ':s', claim)\n"
    "      if v then hnode, hval = n, v end\n"
    "    end\n"
    "  end\n"
    "end\n"
    "local hpid, hstale, hclient = '', '0', ''\n"
    "if hval then hpid, hstale, hclient = string.match(hval, '^(%S+) (%d) ?(.*)$') end\n"
    "if hnode and ARGV[7] == '1' and ARGV[12] == '1' and not (ARGV[8] == '1' or\n"
    "    (hclient ~= '' and hclient == ARGV[9]) or hstale == '1') then\n"
    "  return {'conflict'}\n"
    "end\n"
    /* an admin's stream replaced by its own user's does not count against it */
    "local replaced = (ARGV[11] == '1' or (hnode and ARGV[7] == '0')) and 1 or 0\n"
    "if max_user > 0 and user ~= '' and nu - replaced >= max_user then return {'user'} end\n"
    "if max_addr > 0 and addr ~= '' and na >= max_addr then return {'address'} end\n"
    "local k = 'sse:node:' .. me\n"
    /* each key it writes expires even if this node dies before its heartbeat */
    "if user ~= '' then redis.call('HINCRBY', k .. ':u', user, 1); redis.call('PEXPIRE', k .. ':u', ARGV[13]) end\n"
    "if addr ~= '' then redis.call('HINCRBY', k .. ':a', addr, 1); redis.call('PEXPIRE', k .. ':a', ARGV[13]) end\n"
    "if claim ~= '' then\n"
    "  redis.call('HSET', k .. ':s', claim, ARGV[10] .. ' 0 ' .. ARGV[9])\n"
    "  redis.call('PEXPIRE', k .. ':s', ARGV[13])\n"
    "end\n"
    "return {'ok', hnode or '', hpid or ''}\n";

/* json-c writes an object as "{" then its first member: the number goes in
 * front of that. */
const char wire_change_script[] =
    "local q = redis.call('INCR', KEYS[1])\n"
    "redis.call('PUBLISH', KEYS[2], '{\"q\":' .. q .. ',' .. string.sub(ARGV[1], 2))\n"
    "return q\n";

const char wire_floor_script[] =
    "local q = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local want = tonumber(ARGV[1])\n"
    "if q < want then redis.call('SET', KEYS[1], ARGV[1]) return want end\n"
    "return q\n";

const char wire_claim_state_script[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if v then\n"
    "  local pid, _, client = string.match(v, '^(%S+) (%d) ?(.*)$')\n"
    "  if pid == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], pid .. ' ' .. ARGV[3] .. ' ' .. client) end\n"
    "end\n"
    "return 0\n";

const char wire_unclaim_script[] =
    "local v = redis.call('HGET', KEYS[1], ARGV[1])\n"
    "if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then redis.call('HDEL', KEYS[1], ARGV[1]) end\n"
    "return 0\n";

/* A new json-c string, or null for "". */
static struct json_object *str_or_null(const char *s)
{
    return s && *s ? json_object_new_string(s) : NULL;
}

/* json-c's text of o, copied (caller frees), and o put. */
static char *text_of(struct json_object *o)
{
    char *s = o ? strdup(json_object_to_json_string_ext(o, JSON_FLAGS)) : NULL;
    json_object_put(o);
    return s;
}

char *wire_conn_json(const struct conn_info *ci, const char *token_hash, const char *addr)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(ci->public_id));
    json_object_object_add(o, "type", json_object_new_string(conn_type_name(ci->type)));
    json_object_object_add(o, "name", json_object_new_string(ci->name));
    json_object_object_add(o, "client", str_or_null(ci->client));
    json_object_object_add(o, "ack", json_object_new_boolean(ci->ack));
    json_object_object_add(o, "stale", json_object_new_boolean(ci->stale));
    json_object_object_add(o, "at", json_object_new_int64(ci->connected_at_ms));
    json_object_object_add(o, "ping", json_object_new_int64(ci->last_ping_ms));
    json_object_object_add(o, "acked", json_object_new_int64(ci->last_ack_ms));
    json_object_object_add(o, "rtt", json_object_new_int64(ci->last_ack_rtt_ms));
    json_object_object_add(o, "sent", json_object_new_uint64(ci->events_sent));
    json_object_object_add(o, "queued", json_object_new_uint64(ci->events_queued));
    json_object_object_add(o, "bytes", json_object_new_uint64(ci->bytes_sent));
    json_object_object_add(o, "th", str_or_null(token_hash));
    json_object_object_add(o, "addr", str_or_null(addr));
    return text_of(o);
}

static const char *get_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : "";
}

static int64_t get_int(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static bool get_bool(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

/* Copies s into out (cap bytes); false if it does not fit. */
static bool copy(char *out, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        return false;
    memcpy(out, s, n + 1);
    return true;
}

static bool conn_from(struct json_object *o, const char *node, struct mirror_conn *out)
{
    memset(out, 0, sizeof *out);
    struct conn_info *ci = &out->info;
    const char *type = get_str(o, "type");
    if (strcmp(type, "admin") != 0 && strcmp(type, "display") != 0)
        return false;
    ci->type = type[0] == 'a' ? CONN_ADMIN : CONN_DISPLAY;
    ci->ack = get_bool(o, "ack");
    ci->stale = get_bool(o, "stale");
    ci->connected_at_ms = get_int(o, "at");
    ci->last_ping_ms = get_int(o, "ping");
    ci->last_ack_ms = get_int(o, "acked");
    ci->last_ack_rtt_ms = get_int(o, "rtt");
    ci->events_sent = (uint64_t)get_int(o, "sent");
    ci->events_queued = (uint64_t)get_int(o, "queued");
    ci->bytes_sent = (uint64_t)get_int(o, "bytes");
    return copy(ci->public_id, sizeof ci->public_id, get_str(o, "id")) && ci->public_id[0] &&
           copy(ci->node, sizeof ci->node, node) &&
           copy(ci->name, sizeof ci->name, get_str(o, "name")) &&
           copy(ci->client, sizeof ci->client, get_str(o, "client")) &&
           copy(out->token_hash, sizeof out->token_hash, get_str(o, "th")) &&
           copy(out->addr, sizeof out->addr, get_str(o, "addr"));
}

static struct json_object *parse(const char *text, size_t len)
{
    struct json_tokener *tok = json_tokener_new();
    if (!tok)
        return NULL;
    struct json_object *o = json_tokener_parse_ex(tok, text, (int)len);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

bool wire_conn_parse(const char *text, size_t len, const char *node, struct mirror_conn *out)
{
    struct json_object *o = parse(text, len);
    bool ok = o && conn_from(o, node, out);
    json_object_put(o);
    return ok;
}

char *wire_change_json(const char *node, char kind, const char *conn_json,
                       enum close_reason reason, int64_t at_ms)
{
    struct json_object *o = json_object_new_object();
    char k[2] = { kind, '\0' };
    json_object_object_add(o, "node", json_object_new_string(node));
    json_object_object_add(o, "k", json_object_new_string(k));
    if (conn_json)
        json_object_object_add(o, "c", json_tokener_parse(conn_json));
    if (kind == 'c')
        json_object_object_add(o, "r", json_object_new_string(conn_reason_name(reason)));
    json_object_object_add(o, "t", json_object_new_int64(at_ms));
    return text_of(o);
}

enum close_reason wire_reason(const char *name)
{
    for (int r = CLOSE_CLIENT_CLOSED; r < CLOSE_REASONS; r++)
        if (strcmp(conn_reason_name((enum close_reason)r), name) == 0)
            return (enum close_reason)r;
    return CLOSE_NONE;
}

bool wire_change_parse(const char *text, size_t len, struct wire_change *out)
{
    memset(out, 0, sizeof *out);
    struct json_object *o = parse(text, len), *c;
    bool ok = o && copy(out->node, sizeof out->node, get_str(o, "node")) && out->node[0];
    if (ok) {
        const char *k = get_str(o, "k");
        out->kind = k[0];
        out->at_ms = get_int(o, "t");
        int64_t q = get_int(o, "q");
        out->q = q > 0 ? (uint64_t)q : 0;
        if (out->kind == 'c') {
            out->reason = wire_reason(get_str(o, "r"));
            ok = json_object_object_get_ex(o, "c", &c) && out->reason != CLOSE_NONE &&
                 conn_from(c, out->node, &out->conn);
        } else if (out->kind == 'o' || out->kind == 's') {
            ok = json_object_object_get_ex(o, "c", &c) && conn_from(c, out->node, &out->conn);
        } else {
            ok = (out->kind == 'r' || out->kind == 'l') && !k[1];
        }
    }
    json_object_put(o);
    return ok;
}

char *wire_cmd_json(const struct wire_cmd *c)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string(c->op));
    json_object_object_add(o, "id", str_or_null(c->public_id));
    if (c->reason != CLOSE_NONE)
        json_object_object_add(o, "r", json_object_new_string(conn_reason_name(c->reason)));
    json_object_object_add(o, "seq", json_object_new_uint64(c->seq));
    json_object_object_add(o, "from", str_or_null(c->from));
    json_object_object_add(o, "q", json_object_new_uint64(c->req));
    json_object_object_add(o, "res", json_object_new_int64(c->result));
    return text_of(o);
}

bool wire_cmd_parse(const char *text, size_t len, struct wire_cmd *out)
{
    memset(out, 0, sizeof *out);
    struct json_object *o = parse(text, len);
    bool ok = o && copy(out->op, sizeof out->op, get_str(o, "op")) &&
              copy(out->public_id, sizeof out->public_id, get_str(o, "id")) &&
              copy(out->from, sizeof out->from, get_str(o, "from"));
    if (ok) {
        out->reason = wire_reason(get_str(o, "r"));
        out->seq = (uint64_t)get_int(o, "seq");
        out->req = (uint64_t)get_int(o, "q");
        out->result = get_int(o, "res");
    }
    json_object_put(o);
    return ok;
}

/* The display comes before the user: a display name has no '|', a user's
 * may. */
void wire_filter(char *out, size_t cap, const struct filter *f)
{
    snprintf(out, cap, "%d|%s|%s", f ? f->type : -1, f && f->display ? f->display : "",
             f && f->user ? f->user : "");
}

void wire_filter_parse(const char *text, char *buf, size_t cap, struct filter *out)
{
    snprintf(buf, cap, "%s", text);
    out->type = atoi(buf);
    char *display = strchr(buf, '|');
    char *user = display ? strchr(display + 1, '|') : NULL;
    if (display)
        *display++ = '\0';
    if (user)
        *user++ = '\0';
    out->user = user && *user ? user : NULL;
    out->display = display && *display ? display : NULL;
    if (out->type < -1 || out->type > CONN_DISPLAY)
        out->type = -1;
}
