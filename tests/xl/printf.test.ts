import { describe, expect, it } from 'vitest';
import {
  fixedWidth,
  nsToSecondsAsFloat,
  padLeft,
  padRight,
  toFixedC,
} from '../../dom0/xl/printf.js';

describe('printf conversions as glibc prints them', () => {
  it('%-Ns pads on the right and never truncates a longer string', () => {
    expect(padRight('abc', 6)).toBe('abc   ');
    expect(padRight('a-very-long-domain-name', 5)).toBe('a-very-long-domain-name');
  });

  it('%Nd pads on the left and lets wide numbers overflow', () => {
    expect(padLeft(42, 5)).toBe('   42');
    expect(padLeft(1234567, 5)).toBe('1234567');
  });

  it('%.1f rounds exact binary ties to even, unlike Number.toFixed', () => {
    expect((0.25).toFixed(1)).toBe('0.3'); // what glibc does not do
    expect(toFixedC(0.25, 1)).toBe('0.2');
    expect(toFixedC(0.75, 1)).toBe('0.8');
    expect(toFixedC(2.5, 0)).toBe('2');
    expect(toFixedC(3.5, 0)).toBe('4');
  });

  it('%.1f rounds non-ties by the exact binary value (0.05 is below a tie)', () => {
    expect(toFixedC(0.05, 1)).toBe('0.1');
    expect(toFixedC(0.15, 1)).toBe('0.1'); // 0.1499999999999999944...
    expect(toFixedC(123.45, 1)).toBe('123.5'); // 123.4500000000000028...
  });

  it('%8.1f right-justifies and overflows past the width', () => {
    expect(fixedWidth(5.2, 8, 1)).toBe('     5.2');
    expect(fixedWidth(123456789.25, 8, 1)).toBe('123456789.2');
  });

  it('(float)ns / 1e9 narrows the counter to single precision first, as xl does', () => {
    // 123456789012 ns is not representable in a float: it becomes 123456790528.
    expect(nsToSecondsAsFloat(123_456_789_012)).toBeCloseTo(123.456790528, 9);
    expect(nsToSecondsAsFloat(16_777_217)).toBe(0.016777216);
  });
});
