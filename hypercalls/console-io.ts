// HYPERVISOR_console_io sub-ops on the Xen (hypervisor) console (xen/include/public/xen.h, xen/drivers/char/console.c).

export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;

/**
 * The `buffer` argument: for CONSOLEIO_write the bytes to write (IN); for CONSOLEIO_read a buffer Xen
 * fills (OUT), the return value being the number of bytes read.
 */
export type ConsoleIoBuffer = Uint8Array;

/** Size of the hypervisor console ring (`conring_size` default 16 KiB). */
export const CONRING_SIZE = 16384;
