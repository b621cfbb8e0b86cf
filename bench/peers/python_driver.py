# Python clickhouse-driver peer (Debian python3-clickhouse-driver). Prints one JSON line:
# {"seconds": s, "rows": n} timing only the work inside the process (connection warm).
import json, sys, time
from clickhouse_driver import Client

def main():
    args = json.loads(sys.argv[1])
    c = Client(host=args.get('host', '127.0.0.1'), port=args['port'], compression=args.get('compression', False))
    c.execute('SELECT 1')
    mode = args['mode']
    t = time.perf_counter()
    rows = 0
    if mode == 'rows':
        res = c.execute(args['query'])
        rows = len(res)
    elif mode == 'stream_rows':
        # Row tuples one at a time (the driver's streaming form), one field read, none kept.
        check = 0
        for row in c.execute_iter(args['query']):
            rows += 1
            check += len(row[1])
    elif mode == 'columnar':
        n = 0
        for block in c.execute_iter(args['query'], settings={'max_block_size': 65536}):
            n += 1
        rows = n
    elif mode == 'insert':
        n = args['rows']
        import datetime
        data = [(i, 'name-%d' % i, i * 1.5, datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i)) for i in range(n)]
        t = time.perf_counter()
        c.execute('INSERT INTO %s VALUES' % args['table'], data)
        rows = n
    elif mode == 'latency':
        lat = []
        for _ in range(args['n']):
            t0 = time.perf_counter()
            c.execute('SELECT 1')
            lat.append((time.perf_counter() - t0) * 1000)
        lat.sort()
        print(json.dumps({'seconds': sum(lat) / 1000, 'rows': len(lat), 'p50': lat[len(lat) // 2], 'p99': lat[int(len(lat) * 0.99)]}))
        return
    print(json.dumps({'seconds': time.perf_counter() - t, 'rows': rows}))

main()
