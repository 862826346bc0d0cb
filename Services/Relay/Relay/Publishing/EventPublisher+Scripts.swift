import HeraldCore
import Redis

extension EventPublisher {
    /// Appends a planned batch to its threads' logs and moves the partition's cursor past it: all of it, or,
    /// when the lease is not ours or any log differs from the plan, none of it.
    static let publishScript = RedisScript(
        """
        -- KEYS: partition lease, partition cursor, partition stream, then per thread: log state (hash: epoch, seq,
        --       entry, recent, count, live, livebytes), history, active run, live run's outline, thread record,
        --       messages (hash), runs (list), live answer text, then the run-ended marker of each of its listed runs
        -- ARGV: lease holder, cursor entry id ('' = leave it), smallest entry id to keep, history size, ttl seconds,
        --       thread count, live run byte ceiling, thread retention seconds, then per thread: epoch, starts-log flag,
        --       expected seq, frame count,
        --       channel, newest entry id ('' = unchanged), recent ids ('' = unchanged), their count, renew-expiry flag,
        --       live run change ('' = none, '0' = it ended, else the seq its supervisor started at), the bytes of
        --       this batch's frames that are the live run's, the positions of its outline frames ('' = none, else
        --       positions from 1 among the frames, space-separated), run count, then per run its id and flags (1: the batch
        --       ends it, 2: check it had not ended, 3: both), then the frames, then the message update count and
        --       per update four values: kind (open, append, replace, call, done, close), run id, then two by kind
        -- History keeps the latest `history size` events, and besides them every event of the live run (from its
        -- start seq) while that run's frames take at most the byte ceiling. The live run's outline holds its frames
        -- that open or close an agent or tool call, untrimmed, until it ends. Message updates apply only while the
        -- thread's record exists (a deleted thread gets no messages back from a late event).
        -- Returns nil when the lease is not ours; 1 when done; else, with nothing done, per thread whose log is not
        -- as planned: {thread number, epoch or '', seq, newest entry or '', recent ids or '', {ended runs' numbers}}
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then
          return false
        end
        local historySize, ttl, liveCeiling, retention = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7]), ARGV[8]
        local plans, differing = {}, {}
        local a, k = \(PublishScriptCall.leadingArguments + 1), \(PublishScriptCall.partitionKeys + 1)
        for t = 1, tonumber(ARGV[6]) do
          local p = {
            k = k, epoch = ARGV[a], starts = ARGV[a + 1] == '1', seq = tonumber(ARGV[a + 2]),
            frames = tonumber(ARGV[a + 3]), channel = ARGV[a + 4], entry = ARGV[a + 5], recent = ARGV[a + 6],
            count = ARGV[a + 7], renew = ARGV[a + 8] == '1', live = ARGV[a + 9], liveBytes = tonumber(ARGV[a + 10]),
            outline = ARGV[a + 11], runs = tonumber(ARGV[a + 12]), runAt = a + \(PublishScriptCall.threadHeadArguments)
          }
          p.frameAt = p.runAt + \(PublishScriptCall.argumentsPerRun) * p.runs
          p.updates = tonumber(ARGV[p.frameAt + p.frames])
          p.updateAt = p.frameAt + p.frames + 1
          a = p.updateAt + \(PublishScriptCall.argumentsPerMessageUpdate) * p.updates
          k = k + \(PublishScriptCall.keysPerThread) + p.runs
          local head = redis.call('HMGET', KEYS[p.k], '\(ThreadLogHead.Field.epoch)', '\(ThreadLogHead.Field.seq)', '\(ThreadLogHead.Field.live)', '\(ThreadLogHead.Field.liveBytes)')
          p.liveStart, p.liveTotal = tonumber(head[3] or '0'), tonumber(head[4] or '0')
          local fits
          if p.starts then
            fits = not head[1]
          else
            fits = head[1] == p.epoch and tonumber(head[2] or '0') == p.seq
          end
          local ended = {}
          for r = 1, p.runs do
            if tonumber(ARGV[p.runAt + \(PublishScriptCall.argumentsPerRun) * r - 1]) >= \(PublishScriptCall.RunChecks.mustBeOpen.rawValue) and redis.call('EXISTS', KEYS[p.k + \(PublishScriptCall.keysPerThread - 1) + r]) == 1 then
              ended[#ended + 1] = r
            end
          end
          if not fits or #ended > 0 then
            local state = redis.call('HMGET', KEYS[p.k], '\(ThreadLogHead.Field.epoch)', '\(ThreadLogHead.Field.seq)', '\(ThreadLogHead.Field.entry)', '\(ThreadLogHead.Field.recent)')
            local seq = state[1] and tonumber(state[2] or '0') or 0
            differing[#differing + 1] = {t, state[1] or '', seq, state[3] or '', state[4] or '', ended}
          end
          plans[t] = p
        end
        if #differing > 0 then
          return differing
        end
        for _, p in ipairs(plans) do
          local stateKey, historyKey, activeKey, outlineKey = KEYS[p.k], KEYS[p.k + 1], KEYS[p.k + 2], KEYS[p.k + 3]
          local update = {}
          if p.starts then
            -- A new (or expired) log: a new epoch, counting from 1.
            redis.call('DEL', stateKey, historyKey)
            update[1], update[2] = '\(ThreadLogHead.Field.epoch)', p.epoch
            p.liveStart, p.liveTotal = 0, 0
          end
          local liveChanged = p.liveBytes > 0 and p.liveStart > 0
          if p.live == '0' then
            if p.liveStart > 0 then redis.call('HDEL', stateKey, '\(ThreadLogHead.Field.live)', '\(ThreadLogHead.Field.liveBytes)') end
            p.liveStart, p.liveTotal, liveChanged = 0, 0, false
          elseif p.live ~= '' then
            p.liveStart, p.liveTotal, liveChanged = tonumber(p.live), 0, true
          end
          if liveChanged then
            p.liveTotal = p.liveTotal + p.liveBytes
            local n = #update
            update[n + 1], update[n + 2], update[n + 3], update[n + 4] = '\(ThreadLogHead.Field.live)', p.liveStart, '\(ThreadLogHead.Field.liveBytes)', p.liveTotal
          end
          if p.frames > 0 then
            local first, last = p.frameAt, p.frameAt + p.frames - 1
            local n = #update
            update[n + 1], update[n + 2] = '\(ThreadLogHead.Field.seq)', p.seq + p.frames
            local length
            for from = first, last, 100 do
              length = redis.call('RPUSH', historyKey, unpack(ARGV, from, math.min(from + 99, last)))
            end
            local keep = historySize
            if p.liveStart > 0 and p.liveTotal <= liveCeiling then
              keep = math.max(keep, p.seq + p.frames - p.liveStart + 1)
            end
            if length > keep then
              redis.call('LTRIM', historyKey, -keep, -1)
            end
            -- A list RPUSH just created has no expiry yet.
            if length == p.frames and not p.renew then
              redis.call('EXPIRE', historyKey, ttl)
            end
            redis.call('PUBLISH', p.channel, table.concat(ARGV, '\\n', first, last))
          end
          if p.live ~= '' then
            -- A run started or ended: the outline of the one before is of no more use.
            redis.call('DEL', outlineKey)
          end
          if p.outline ~= '' then
            local outline = {}
            for position in string.gmatch(p.outline, '%d+') do
              outline[#outline + 1] = ARGV[p.frameAt + tonumber(position) - 1]
            end
            redis.call('RPUSH', outlineKey, unpack(outline))
            redis.call('EXPIRE', outlineKey, ttl)
          end
          for r = 1, p.runs do
            if tonumber(ARGV[p.runAt + \(PublishScriptCall.argumentsPerRun) * r - 1]) % 2 == \(PublishScriptCall.RunChecks.endsRun.rawValue) then
              local run = ARGV[p.runAt + \(PublishScriptCall.argumentsPerRun) * r - 2]
              redis.call('SET', KEYS[p.k + \(PublishScriptCall.keysPerThread - 1) + r], '1', 'EX', ttl)
              if redis.call('GET', activeKey) == run then
                redis.call('DEL', activeKey)
              end
            end
          end
          if p.updates > 0 and redis.call('EXISTS', KEYS[p.k + 4]) == 1 then
            local threadKey, messagesKey, runsKey, textKey = KEYS[p.k + 4], KEYS[p.k + 5], KEYS[p.k + 6], KEYS[p.k + 7]
            local opened = false
            for at = p.updateAt, p.updateAt + \(PublishScriptCall.argumentsPerMessageUpdate) * (p.updates - 1), \(PublishScriptCall.argumentsPerMessageUpdate) do
              local kind, run, x, y = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
              if kind == 'append' then
                if redis.call('APPEND', textKey, x) == #x then redis.call('EXPIRE', textKey, retention) end
              elseif kind == 'replace' then
                redis.call('SET', textKey, x, 'EX', retention)
                if y ~= '' then redis.call('HSET', messagesKey, run .. '\(MessageRecord.Field.Suffix.usage)', y) end
              elseif kind == 'call' then
                local calls = redis.call('HGET', messagesKey, run .. '\(MessageRecord.Field.Suffix.calls)') or ''
                redis.call('HSET', messagesKey, run .. '\(MessageRecord.Field.Suffix.call)' .. x, y, run .. '\(MessageRecord.Field.Suffix.calls)', calls .. x .. ' ')
              elseif kind == 'done' then
                redis.call('HSET', messagesKey, run .. '\(MessageRecord.Field.Suffix.done)' .. x, y)
              elseif kind == 'open' then
                opened = true
                redis.call('DEL', textKey)
                redis.call('RPUSH', runsKey, run)
                redis.call('HSET', messagesKey, run .. '\(MessageRecord.Field.Suffix.user)', x)
                if y ~= '' then redis.call('HSET', threadKey, '\(ThreadRecord.Field.preview)', y) end
              elseif kind == 'close' then
                local text = redis.call('GET', textKey) or ''
                redis.call('DEL', textKey)
                redis.call('HSET', messagesKey, run .. '\(MessageRecord.Field.Suffix.text)', text, run .. '\(MessageRecord.Field.Suffix.end)', x)
                redis.call('HSET', threadKey, '\(ThreadRecord.Field.preview)', string.sub(text, 1, 640))
              end
            end
            -- A run's opening creates its keys; otherwise their expiry is renewed as the log's is, at most once a minute.
            if opened or p.renew then
              redis.call('EXPIRE', threadKey, retention)
              redis.call('EXPIRE', messagesKey, retention)
              redis.call('EXPIRE', runsKey, retention)
              redis.call('EXPIRE', textKey, retention)
            elseif redis.call('TTL', messagesKey) == -1 then
              -- Parts of a run opened before messages were kept made the hash just now.
              redis.call('EXPIRE', messagesKey, retention)
            end
          end
          if p.entry ~= '' then
            local n = #update
            update[n + 1], update[n + 2] = '\(ThreadLogHead.Field.entry)', p.entry
          end
          if p.recent ~= '' then
            local n = #update
            update[n + 1], update[n + 2], update[n + 3], update[n + 4] = '\(ThreadLogHead.Field.recent)', p.recent, '\(ThreadLogHead.Field.count)', p.count
          end
          -- HSET counts the fields it created: a hash it just created has no expiry yet.
          if #update > 0 and redis.call('HSET', stateKey, unpack(update)) > 0 and not p.renew then
            redis.call('EXPIRE', stateKey, ttl)
          end
          if p.renew then
            redis.call('EXPIRE', stateKey, ttl)
            redis.call('EXPIRE', historyKey, ttl)
          end
        end
        if ARGV[2] ~= '' then
          redis.call('SET', KEYS[2], ARGV[2])
          if ARGV[3] ~= '' then
            redis.call('XTRIM', KEYS[3], 'MINID', ARGV[3])
          end
        end
        return 1
        """
    )

    /// Reads thread logs for a relay that does not know them yet.
    static let readScript = RedisScript(
        """
        -- KEYS: each thread's log state
        -- Returns per thread {epoch or '', seq, newest entry or '', recent ids or ''}
        local logs = {}
        for i = 1, #KEYS do
          local state = redis.call('HMGET', KEYS[i], '\(ThreadLogHead.Field.epoch)', '\(ThreadLogHead.Field.seq)', '\(ThreadLogHead.Field.entry)', '\(ThreadLogHead.Field.recent)')
          logs[i] = {state[1] or '', tonumber(state[2] or '0'), state[3] or '', state[4] or ''}
        end
        return logs
        """
    )
}
