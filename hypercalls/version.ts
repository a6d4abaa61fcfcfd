// HYPERVISOR_xen_version sub-ops and output buffers (xen/include/public/version.h, features.h).

export const XENVER_version = 0;
export const XENVER_extraversion = 1;
export const XENVER_compile_info = 2;
export const XENVER_capabilities = 3;
export const XENVER_changeset = 4;
export const XENVER_platform_parameters = 5;
export const XENVER_get_features = 6;
export const XENVER_pagesize = 7;
export const XENVER_guest_handle = 8;
export const XENVER_commandline = 9;
export const XENVER_build_id = 10;

export const XEN_EXTRAVERSION_LEN = 16;
export const XEN_CAPABILITIES_INFO_LEN = 1024;
export const XEN_CHANGESET_INFO_LEN = 64;
export const XEN_COMMANDLINE_LEN = 1024;

/** OUT buffers: Xen fills `value` (char arrays become strings here). */
export interface XenVersionString {
  value: string;
}

/** struct xen_compile_info (OUT). */
export interface XenCompileInfo {
  compiler: string;
  compile_by: string;
  compile_domain: string;
  compile_date: string;
}

/** struct xen_platform_parameters (OUT). */
export interface XenPlatformParameters {
  virt_start: number;
}

/** struct xen_feature_info (IN submap_idx, OUT submap). */
export interface XenFeatureInfo {
  submap_idx: number;
  submap: number;
}

// Feature bits (features.h) reported in submap 0.
export const XENFEAT_writable_page_tables = 0;
export const XENFEAT_writable_descriptor_tables = 1;
export const XENFEAT_auto_translated_physmap = 2;
export const XENFEAT_supervisor_mode_kernel = 3;
export const XENFEAT_pae_pgdir_above_4gb = 4;
export const XENFEAT_mmu_pt_update_preserve_ad = 5;
export const XENFEAT_gnttab_map_avail_bits = 7;
export const XENFEAT_dom0 = 11;
export const XENFEAT_NR_SUBMAPS = 1;
