import { describe, expect, it } from 'vitest';
import {
  XenbusState,
  formatXenbusState,
  isXenbusState,
  parseXenbusState,
  xenbusStateName,
} from '../../hypercalls/io/xenbus.js';

describe('XenbusState (xenbus.h)', () => {
  it('numbers the states Unknown=0 .. Reconfigured=8', () => {
    expect(XenbusState).toEqual({
      Unknown: 0,
      Initialising: 1,
      InitWait: 2,
      Initialised: 3,
      Connected: 4,
      Closing: 5,
      Closed: 6,
      Reconfiguring: 7,
      Reconfigured: 8,
    });
  });

  it('names each state and calls other numbers INVALID (xenbus_strstate)', () => {
    expect(xenbusStateName(XenbusState.InitWait)).toBe('InitWait');
    expect(xenbusStateName(8)).toBe('Reconfigured');
    expect(xenbusStateName(9)).toBe('INVALID');
    expect(xenbusStateName(-1)).toBe('INVALID');
    expect(xenbusStateName(1.5)).toBe('INVALID');
    expect(isXenbusState(6)).toBe(true);
    expect(isXenbusState(9)).toBe(false);
  });

  it('parses the decimal string of a state node, and round-trips with formatXenbusState', () => {
    expect(parseXenbusState('4')).toEqual({ ok: true, value: 4 });
    expect(parseXenbusState('0')).toEqual({ ok: true, value: 0 });
    for (const s of Object.values(XenbusState)) {
      expect(parseXenbusState(formatXenbusState(s))).toEqual({ ok: true, value: s });
    }
  });

  it('rejects garbage a peer could write to the state node', () => {
    for (const text of [
      '',
      '9',
      '-1',
      '+4',
      ' 4',
      '4\n',
      '4x',
      'Connected',
      '1e0',
      '99999999999',
      '\u0664',
    ]) {
      expect(parseXenbusState(text).ok).toBe(false);
    }
  });
});
