import { describe, expect, it } from 'vitest';
import { parseXenstoredArgs } from '../../dom0/xenstored/main.js';
import { defaultSocketPath } from '../../dom0/xenstored/socket-server.js';

describe('xensim xenstored command line', () => {
  it('--socket PATH and --socket=PATH choose the socket', () => {
    expect(parseXenstoredArgs(['--socket', '/tmp/a'], {})).toEqual({ socketPath: '/tmp/a' });
    expect(parseXenstoredArgs(['--socket=/tmp/b'], {})).toEqual({ socketPath: '/tmp/b' });
  });

  it('without --socket it follows libxenstore: XENSTORED_PATH, else XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket', () => {
    expect(defaultSocketPath({ XENSTORED_PATH: '/p/s', XENSTORED_RUNDIR: '/r' })).toBe('/p/s');
    expect(defaultSocketPath({ XENSTORED_RUNDIR: '/r' })).toBe('/r/socket');
    expect(defaultSocketPath({})).toBe('/var/run/xenstored/socket');
    expect(parseXenstoredArgs([], { XENSTORED_RUNDIR: '/run/x' })).toEqual({
      socketPath: '/run/x/socket',
    });
  });

  it('a missing path or an unknown argument is an error message', () => {
    expect(parseXenstoredArgs(['--socket'], {})).toBe('--socket needs a path');
    expect(parseXenstoredArgs(['--bogus'], {})).toBe('unknown argument: --bogus');
  });
});
