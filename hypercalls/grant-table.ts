// Grant-table ABI: GNTTABOP_* sub-ops, their IN/OUT structs, GNTMAP_*/GTF_*/GNTCOPY_* flags and the
// GNTST_* status codes with Xen's messages (xen/include/public/grant_table.h).

export const GNTTABOP_map_grant_ref = 0;
export const GNTTABOP_unmap_grant_ref = 1;
export const GNTTABOP_setup_table = 2;
export const GNTTABOP_dump_table = 3;
export const GNTTABOP_transfer = 4;
export const GNTTABOP_copy = 5;
export const GNTTABOP_query_size = 6;
export const GNTTABOP_unmap_and_replace = 7;
export const GNTTABOP_set_version = 8;
export const GNTTABOP_get_status_frames = 9;
export const GNTTABOP_get_version = 10;
export const GNTTABOP_swap_grant_ref = 11;
export const GNTTABOP_cache_flush = 12;

// grant_entry_v1.flags: type in bits 1:0, the rest guest- or Xen-written as noted.
export const GTF_invalid = 0;
export const GTF_permit_access = 1;
export const GTF_accept_transfer = 2;
export const GTF_transitive = 3;
export const GTF_type_mask = 3;
/** Guest: only read-only maps and copies from the page are allowed. */
export const GTF_readonly = 1 << 2;
/** Xen: the page is mapped (or being copied) for reading. */
export const GTF_reading = 1 << 3;
/** Xen: the page is mapped (or being copied) for writing. */
export const GTF_writing = 1 << 4;
export const GTF_PWT = 1 << 5;
export const GTF_PCD = 1 << 6;
export const GTF_PAT = 1 << 7;
export const GTF_sub_page = 1 << 8;
/** Transfer entries: Xen has committed to transferring a frame. */
export const GTF_transfer_committed = 1 << 2;
/** Transfer entries: the frame number is written and the transfer is done. */
export const GTF_transfer_completed = 1 << 3;

export const GNTMAP_device_map = 1 << 0;
export const GNTMAP_host_map = 1 << 1;
export const GNTMAP_readonly = 1 << 2;
export const GNTMAP_application_map = 1 << 3;
export const GNTMAP_contains_pte = 1 << 4;

export const GNTCOPY_source_gref = 1 << 0;
export const GNTCOPY_dest_gref = 1 << 1;

export const GNTTAB_NR_RESERVED_ENTRIES = 8;
export const GNTTAB_RESERVED_CONSOLE = 0;
export const GNTTAB_RESERVED_XENSTORE = 1;
export const INITIAL_NR_GRANT_FRAMES = 1;
export const DEFAULT_MAX_GRANT_FRAMES = 64;
export const DEFAULT_MAX_MAPTRACK_FRAMES = 1024;
/** sizeof(grant_entry_v1_t) and entries per 4 KiB frame. */
export const GRANT_ENTRY_V1_SIZE = 8;
export const GRANT_ENTRIES_PER_FRAME_V1 = 512;
/** sizeof(struct grant_mapping): maptrack entries per 4 KiB frame. */
export const MAPTRACK_ENTRIES_PER_FRAME = 512;

export const GNTST_okay = 0;
export const GNTST_general_error = -1;
export const GNTST_bad_domain = -2;
export const GNTST_bad_gntref = -3;
export const GNTST_bad_handle = -4;
export const GNTST_bad_virt_addr = -5;
export const GNTST_bad_dev_addr = -6;
export const GNTST_no_device_space = -7;
export const GNTST_permission_denied = -8;
export const GNTST_bad_page = -9;
export const GNTST_bad_copy_arg = -10;
export const GNTST_address_too_big = -11;
export const GNTST_eagain = -12;
export const GNTST_no_space = -13;

/** GNTTABOP_error_msgs, indexed by -status. */
export const GNTTABOP_error_msgs: readonly string[] = [
  'okay',
  'undefined error',
  'unrecognised domain id',
  'invalid grant reference',
  'invalid mapping handle',
  'invalid virtual address',
  'invalid device address',
  'no spare translation slot in the I/O MMU',
  'permission denied',
  'bad page',
  'copy arguments cross page boundary',
  'page address size too large',
  'operation not done; try again',
  'out of space',
];

/** The message for a GNTST_* status (Xen's GNTTABOP_error_msgs), or `unknown status N`. */
export function gntstMessage(status: number): string {
  return GNTTABOP_error_msgs[-status] ?? `unknown status ${status}`;
}

/** struct gnttab_map_grant_ref. IN: host_addr, flags, ref, dom. OUT: status, handle, dev_bus_addr. */
export interface gnttab_map_grant_ref {
  host_addr: number;
  flags: number;
  ref: number;
  dom: number;
  status?: number;
  handle?: number;
  dev_bus_addr?: number;
}

/** struct gnttab_unmap_grant_ref. IN: host_addr, dev_bus_addr, handle. OUT: status. */
export interface gnttab_unmap_grant_ref {
  host_addr: number;
  dev_bus_addr: number;
  handle: number;
  status?: number;
}

/** struct gnttab_setup_table. IN: dom, nr_frames. OUT: status, frame_list (GMFNs of the table frames). */
export interface gnttab_setup_table {
  dom: number;
  nr_frames: number;
  status?: number;
  frame_list?: number[];
}

/** struct gnttab_transfer. IN: mfn (the caller's frame to give), domid, ref. OUT: status. */
export interface gnttab_transfer {
  mfn: number;
  domid: number;
  ref: number;
  status?: number;
}

/** One side of a copy: `u.ref` with GNTCOPY_*_gref, else `u.gmfn` (the caller's own frame). */
export interface gnttab_copy_ptr {
  u: { ref?: number; gmfn?: number };
  domid: number;
  offset: number;
}

/** struct gnttab_copy. IN: source, dest, len, flags. OUT: status. */
export interface gnttab_copy {
  source: gnttab_copy_ptr;
  dest: gnttab_copy_ptr;
  len: number;
  flags: number;
  status?: number;
}

/** struct gnttab_query_size. IN: dom. OUT: nr_frames, max_nr_frames, status. */
export interface gnttab_query_size {
  dom: number;
  nr_frames?: number;
  max_nr_frames?: number;
  status?: number;
}

/** struct gnttab_set_version. IN/OUT: version. */
export interface gnttab_set_version {
  version: number;
}

/** struct gnttab_get_version. IN: dom. OUT: version. */
export interface gnttab_get_version {
  dom: number;
  pad?: number;
  version?: number;
}
