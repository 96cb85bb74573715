#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reads `protoc --decode=perfetto.protos.Trace tests/perfetto.proto` output on stdin and
prints what the perfetto-export tests compare, one "key value" line each, with interned
names resolved as a trace reader resolves them (in sequence order):
  packets N, descriptors N, process NAME, thread NAME (one line per thread track),
  begin NAME N, end N, instant NAME N, category NAME N (slice begins),
  flow_ids N, terminating_flow_ids N, flows_matched N (flow ids with both ends),
  annotation NAME=VALUE (site and fd_class values of slice begins, deduplicated),
  pointer VALUE (objects, deduplicated), unknown_field N (fields shown by number),
  error TEXT (an iid used before its InternedData, or a packet needing incremental
  state before any cleared it).
Exits 1 when there is an error line."""
import collections
import re
import sys


def parse(lines):
    """protoc's text format -> nested lists of (key, value or list)."""
    root = []
    stack = [root]
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if line.endswith('{'):
            node = []
            stack[-1].append((line[:-1].strip(), node))
            stack.append(node)
        elif line == '}':
            stack.pop()
        else:
            k, _, v = line.partition(':')
            v = v.strip()
            if v.startswith('"'):
                v = bytes(v[1:-1], 'utf-8').decode('unicode_escape').encode('latin-1').decode('utf-8')
            stack[-1].append((k.strip(), v))
    return root


def get(node, key, default=None):
    for k, v in node:
        if k == key:
            return v
    return default


def all_of(node, key):
    return [v for k, v in node if k == key]


def main():
    packets = [v for k, v in parse(sys.stdin) if k == 'packet']
    out = collections.Counter()
    lines = []
    errors = []
    tables = {}
    cleared = set()
    unknown = 0
    flows_out, flows_in = collections.Counter(), collections.Counter()
    seen_ann, seen_ptr = set(), set()
    for i, p in enumerate(packets):
        unknown += sum(1 for k, v in p if re.fullmatch(r'\d+', k))
        seq = get(p, 'trusted_packet_sequence_id', '0')
        flags = int(get(p, 'sequence_flags', '0'))
        if flags & 1:
            cleared.add(seq)
            tables[seq] = collections.defaultdict(dict)
        elif flags & 2 and seq not in cleared:
            errors.append('packet %d needs incremental state of sequence %s' % (i, seq))
        t = tables.setdefault(seq, collections.defaultdict(dict))
        for idata in all_of(p, 'interned_data'):
            for k, entries in idata:
                if not isinstance(entries, list):
                    continue
                unknown += sum(1 for kk, vv in entries if re.fullmatch(r'\d+', kk))
                iid = get(entries, 'iid')
                t[k][iid] = get(entries, 'name', get(entries, 'str'))

        def resolve(table, iid):
            if iid not in t[table]:
                errors.append('packet %d: %s iid %s used before it was interned' % (i, table, iid))
                return '?'
            return t[table][iid]

        td = get(p, 'track_descriptor')
        if td is not None:
            out['descriptors'] += 1
            if get(td, 'process') is not None:
                lines.append('process %s' % get(get(td, 'process'), 'process_name'))
            if get(td, 'thread') is not None:
                lines.append('thread %s' % get(get(td, 'thread'), 'thread_name'))
        te = get(p, 'track_event')
        if te is None:
            continue
        unknown += sum(1 for k, v in te if re.fullmatch(r'\d+', k))
        typ = get(te, 'type')
        name = get(te, 'name')
        if name is None and get(te, 'name_iid') is not None:
            name = resolve('event_names', get(te, 'name_iid'))
        cats = all_of(te, 'categories') + [resolve('event_categories', c) for c in all_of(te, 'category_iids')]
        for f in all_of(te, 'flow_ids'):
            flows_out[f] += 1
            out['flow_ids'] += 1
        for f in all_of(te, 'terminating_flow_ids'):
            flows_in[f] += 1
            out['terminating_flow_ids'] += 1
        if typ == 'TYPE_SLICE_BEGIN':
            out['begin %s' % name] += 1
            for c in cats:
                out['category %s' % c] += 1
            for a in all_of(te, 'debug_annotations'):
                an = get(a, 'name')
                if an is None:
                    an = resolve('debug_annotation_names', get(a, 'name_iid'))
                v = get(a, 'string_value')
                if v is None and get(a, 'string_value_iid') is not None:
                    v = resolve('debug_annotation_string_values', get(a, 'string_value_iid'))
                if v is not None and ('%s=%s' % (an, v)) not in seen_ann:
                    seen_ann.add('%s=%s' % (an, v))
                    lines.append('annotation %s=%s' % (an, v))
                if get(a, 'pointer_value') is not None and get(a, 'pointer_value') not in seen_ptr:
                    seen_ptr.add(get(a, 'pointer_value'))
                    lines.append('pointer %s' % get(a, 'pointer_value'))
        elif typ == 'TYPE_SLICE_END':
            out['end'] += 1
        elif typ == 'TYPE_INSTANT':
            out['instant %s' % name] += 1
    out['packets'] = len(packets)
    out['flows_matched'] = sum(1 for f in flows_out if flows_in[f] == 1 and flows_out[f] == 1)
    out['unknown_field'] = unknown
    for k in sorted(out):
        print('%s %d' % (k, out[k]))
    for line in lines:
        print(line)
    for e in errors[:20]:
        print('error %s' % e)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
