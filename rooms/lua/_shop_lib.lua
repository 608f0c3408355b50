-- _shop_lib.lua: helpers shared by the scripts, prepended to each (rooms.redis_scripts). It
-- reads no KEYS or ARGV itself: every helper is given the key names it touches.
--
-- The rules mirror rooms.shopping (can_move / can_hand_remote, vote_allowed, tally) and
-- rooms.memory_shop; the store contract suite holds both stores to the same results.

-- The participant acting, {id, name, role}: '' is the HTTP API (an admin, no id or name).
-- nil if the participant is not in the room.
local function actor(participants_key, id)
    if id == '' then
        return {id = false, name = cjson.null, role = 'admin'}
    end
    local raw = redis.call('HGET', participants_key, id)
    if not raw then
        return nil
    end
    local p = cjson.decode(raw)
    return {id = id, name = p.name, role = p.role}
end

local function is_host(role)
    return role == 'host' or role == 'admin'
end

-- The checks every change to a room starts with, refusing it before anything is written:
--   local who, refused = enter(KEYS[1], KEYS[2], ARGV[2], 'host')
--   if refused then return refused end
-- The room (meta HASH) must exist ({'unknown'}) and be open ({'closed'}). Without a
-- participants key that is all (who is true). Else `id` acts: a participant in the room
-- ({'not_in_room'}) or, for '', the HTTP API (an admin); `rule` says who may
-- ({'forbidden'} otherwise): nil anyone, 'participant' participants only (not the API,
-- which is then {'not_in_room'}), 'buyer' all but viewers, 'host' hosts and admins.
-- Returns who ({id, name, role}, see actor), or nil and the refusal to return.
local function enter(meta_key, participants_key, id, rule)
    local closed = redis.call('HGET', meta_key, 'closed')
    if not closed then
        return nil, {'unknown'}
    elseif closed == '1' then
        return nil, {'closed'}
    elseif not participants_key then
        return true
    end
    local who = actor(participants_key, id)
    if not who or (rule == 'participant' and not who.id) then
        return nil, {'not_in_room'}
    elseif (rule == 'host' and not is_host(who.role))
        or (rule == 'buyer' and who.role == 'viewer') then
        return nil, {'forbidden'}
    end
    return who
end

-- rooms.shopping.can_move, and can_hand_remote (the same rule): hosts always, viewers never,
-- guests in "everyone" mode or while holding the remote.
local function may_move(mode, role, holds)
    if is_host(role) then
        return true
    elseif role == 'viewer' then
        return false
    end
    return mode == 'everyone' or holds
end

-- rooms.shopping_state.pair_key: two ids as one unambiguous string.
local function pair_key(first, second)
    return #first .. ':' .. first .. second
end

-- The carousel HASH as {index, version, mode, holder (false: nobody)}.
local function carousel_get(carousel_key)
    local c = redis.call('HMGET', carousel_key, 'index', 'version', 'mode', 'holder')
    return {
        index = tonumber(c[1] or 0),
        version = tonumber(c[2] or 0),
        mode = c[3] or 'host_led',
        holder = c[4],
    }
end

-- The current product id, or false for an empty catalog.
local function current_product(ids_key, c)
    return redis.call('LINDEX', ids_key, c.index)
end

-- Carousel.to_dict() as JSON text.
local function carousel_json(ids_key, c)
    return cjson.encode({
        index = c.index,
        current = current_product(ids_key, c) or cjson.null,
        version = c.version,
        mode = c.mode,
        holder = c.holder or cjson.null,
    })
end

-- Whether the catalog offers the product (and its variant, unless variant_id is '').
local function offers(products_key, variants_key, product_id, variant_id)
    if redis.call('HEXISTS', products_key, product_id) == 0 then
        return false
    end
    return variant_id == '' or
        redis.call('SISMEMBER', variants_key, pair_key(product_id, variant_id)) == 1
end

-- rooms.shopping.vote_allowed for the latest round (JSON at round_key) at `now`.
local function vote_allowed(round_key, now, product_id)
    local raw = redis.call('GET', round_key)
    if not raw then
        return true
    end
    local r = cjson.decode(raw)
    local covers = true
    if r.product_ids ~= cjson.null then
        covers = false
        for _, id in ipairs(r.product_ids) do
            if id == product_id then
                covers = true
                break
            end
        end
    end
    if r.state == 'closed' or now >= r.closes_at then
        return not covers
    elseif r.state == 'open' or now >= r.opens_at then
        return covers
    end
    return true
end

local function tally_bump(t, value, sign)
    if value == 'yes' then
        t.yes = t.yes + sign
    elseif value == 'no' then
        t.no = t.no + sign
    else
        t.score_count = t.score_count + sign
        t.score_total = t.score_total + sign * value
    end
end

local function tally_empty(t)
    return t.yes + t.no + t.score_count == 0
end

local function new_tally()
    return {yes = 0, no = 0, score_count = 0, score_total = 0}
end

-- Count a decoded vote in (sign 1) or out of (sign -1) its product's tally (rooms.shopping
-- .tally: per product, and per variant when the vote names one; empty tallies are dropped).
local function tally_apply(tallies_key, vote, sign)
    local raw = redis.call('HGET', tallies_key, vote.product_id)
    local t = raw and cjson.decode(raw) or new_tally()
    tally_bump(t, vote.value, sign)
    if vote.variant_id ~= nil and vote.variant_id ~= cjson.null then
        local by = t.by_variant or {}
        local vt = by[vote.variant_id] or new_tally()
        tally_bump(vt, vote.value, sign)
        if tally_empty(vt) then
            by[vote.variant_id] = nil
        else
            by[vote.variant_id] = vt
        end
        if next(by) == nil then
            t.by_variant = nil
        else
            t.by_variant = by
        end
    end
    if tally_empty(t) then
        redis.call('HDEL', tallies_key, vote.product_id)
    else
        redis.call('HSET', tallies_key, vote.product_id, cjson.encode(t))
    end
end

-- Every tally as one JSON object {product id: tally}.
local function tallies_json(tallies_key)
    local flat = redis.call('HGETALL', tallies_key)
    local parts = {}
    for i = 1, #flat, 2 do
        parts[#parts + 1] = cjson.encode(flat[i]) .. ':' .. flat[i + 1]
    end
    return '{' .. table.concat(parts, ',') .. '}'
end

-- The participant JSONs a snapshot lists, and how many of the audience it leaves out: everyone
-- (viewer ''), or for a live room's viewer the stage and itself (rooms.live: the audience SET's
-- members are skipped), so what a viewer is sent costs the stage's size, not the audience's.
local function listed_for(participants_key, audience_key, viewer)
    if viewer == '' then
        return redis.call('HVALS', participants_key), 0
    end
    local listed = {}
    local all = redis.call('HGETALL', participants_key)
    for i = 1, #all, 2 do
        if all[i] == viewer or redis.call('SISMEMBER', audience_key, all[i]) == 0 then
            listed[#listed + 1] = all[i + 1]
        end
    end
    return listed, #all / 2 - #listed
end

-- ARGV[first], ARGV[first + 1], ... as a list.
local function argv_from(first, last)
    local out = {}
    for i = first, last or #ARGV do
        out[#out + 1] = ARGV[i]
    end
    return out
end

-- A template from rooms.redis_scripts.json_template with its holes filled, in order.
local function fill(parts, values)
    local out = {parts[1]}
    for i = 1, #values do
        out[#out + 1] = values[i]
        out[#out + 1] = parts[i + 1]
    end
    return table.concat(out)
end

-- Number the next event, publish it (its template's first hole is the seq, then `values`,
-- which may be a function of the seq) and return {"ok", event JSON}.
local function emit(seq_key, channel, parts, values)
    local seq = redis.call('INCR', seq_key)
    if type(values) == 'function' then
        values = values(seq)
    end
    table.insert(values, 1, seq)
    local event = fill(parts, values)
    redis.call('PUBLISH', channel, event)
    return {'ok', event}
end

-- The room's shopping state as rooms.redis_store reads it (join and snapshot):
-- {catalog HASH as a flat list, product ids, product JSONs (any order), carousel HASH flat,
--  round JSON or false, vote JSONs, cart item JSONs, chat message JSONs oldest first}.
-- `k` holds the keys in RoomKeys.shop_state order.
local function shop_state(k)
    return {
        redis.call('HGETALL', k[1]),
        redis.call('LRANGE', k[2], 0, -1),
        redis.call('HVALS', k[3]),
        redis.call('HGETALL', k[4]),
        redis.call('GET', k[5]),
        redis.call('HVALS', k[6]),
        redis.call('HVALS', k[7]),
        redis.call('LRANGE', k[8], 0, -1),
    }
end

-- Write a whole catalog (create_room, load_catalog): product ids in order, their JSON, and the
-- variant keys; the old catalog's keys must have been deleted.
local function write_catalog(catalog_key, ids_key, products_key, variants_key,
                             revision, currency, image_base, checkout, ids, jsons, variant_keys)
    redis.call('HSET', catalog_key, 'revision', revision, 'currency', currency,
               'image_base', image_base, 'checkout', checkout)
    for i = 1, #ids do
        redis.call('RPUSH', ids_key, ids[i])
        redis.call('HSET', products_key, ids[i], jsons[i])
    end
    for i = 1, #variant_keys do
        redis.call('SADD', variants_key, variant_keys[i])
    end
end

-- rooms.offers: the room's group offer lives in its catalog HASH (field `offer`: the offer
-- JSON, `offer_backers`: backers last published, `offer_reached`: '1' / '0'). After a change
-- (a cart change of `product_id`, or setting the offer: `force`), recount the offer's backers
-- (distinct `added_by` of the product's cart lines) and, if the count changed (or `force`),
-- publish offer_progress, then offer_reached if it just became reached. `progress_parts`
-- holds the offer_progress template (holes: seq, offer, backers, reached), `reached_parts`
-- offer_reached's (holes: seq, offer, backers). Returns the offer_progress reply or nil.
local function offer_backers(cart_key, product_id)
    local people, count = {}, 0
    for _, line in ipairs(redis.call('HVALS', cart_key)) do
        local item = cjson.decode(line)
        local by = item.added_by
        if item.product_id == product_id and by ~= cjson.null and not people[by] then
            people[by] = true
            count = count + 1
        end
    end
    return count
end

-- After a catalog load (whose dropped cart lines may change the backers): recount without an
-- event (clients get a snapshot); an offer on a product no longer offered goes.
local function offer_after_load(catalog_key, products_key, cart_key, now)
    local raw = redis.call('HGET', catalog_key, 'offer')
    if not raw then
        return
    end
    local offer = cjson.decode(raw)
    if redis.call('HEXISTS', products_key, offer.product_id) == 0 then
        redis.call('HDEL', catalog_key, 'offer', 'offer_backers', 'offer_reached')
        return
    end
    local count = offer_backers(cart_key, offer.product_id)
    local reached = count >= offer.threshold and now < offer.expires_at
    redis.call('HSET', catalog_key, 'offer_backers', count, 'offer_reached',
               reached and '1' or '0')
end

local function offer_follow(catalog_key, cart_key, seq_key, channel, product_id, now,
                            progress_parts, reached_parts, force)
    local raw = redis.call('HGET', catalog_key, 'offer')
    if not raw then
        return nil
    end
    local offer = cjson.decode(raw)
    if offer.product_id ~= product_id then
        return nil
    end
    local count = offer_backers(cart_key, product_id)
    local state = redis.call('HMGET', catalog_key, 'offer_backers', 'offer_reached')
    if not force and tonumber(state[1]) == count then
        return nil
    end
    local was = not force and state[2] == '1'
    local reached = count >= offer.threshold and now < offer.expires_at
    redis.call('HSET', catalog_key, 'offer_backers', count, 'offer_reached',
               reached and '1' or '0')
    local reply = emit(seq_key, channel, progress_parts,
                       {raw, count, reached and 'true' or 'false'})
    if reached and not was then
        emit(seq_key, channel, reached_parts, {raw, count})
    end
    return reply
end
