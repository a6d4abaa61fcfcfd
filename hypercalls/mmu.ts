// PV memory-management hypercall constants: mmu_update commands, mmuext_op commands, update_va_mapping
// flags, vm_assist types and page types (xen/include/public/xen.h, arch-x86 mm.h).

/** mmu_update: the command lives in ptr[1:0]. */
export const MMU_NORMAL_PT_UPDATE = 0;
export const MMU_MACHPHYS_UPDATE = 1;
export const MMU_PT_UPDATE_PRESERVE_AD = 2;
export const MMU_PT_UPDATE_NO_TRANSLATE = 3;

/** struct mmu_update { uint64 ptr; uint64 val; } */
export interface mmu_update {
  ptr: bigint;
  val: bigint;
}

/** mmuext_op commands. */
export const MMUEXT_PIN_L1_TABLE = 0;
export const MMUEXT_PIN_L2_TABLE = 1;
export const MMUEXT_PIN_L3_TABLE = 2;
export const MMUEXT_PIN_L4_TABLE = 3;
export const MMUEXT_UNPIN_TABLE = 4;
export const MMUEXT_NEW_BASEPTR = 5;
export const MMUEXT_TLB_FLUSH_LOCAL = 6;
export const MMUEXT_INVLPG_LOCAL = 7;
export const MMUEXT_TLB_FLUSH_MULTI = 8;
export const MMUEXT_INVLPG_MULTI = 9;
export const MMUEXT_TLB_FLUSH_ALL = 10;
export const MMUEXT_INVLPG_ALL = 11;
export const MMUEXT_FLUSH_CACHE = 12;
export const MMUEXT_SET_LDT = 13;
export const MMUEXT_NEW_USER_BASEPTR = 15;
export const MMUEXT_CLEAR_PAGE = 16;
export const MMUEXT_COPY_PAGE = 17;
export const MMUEXT_FLUSH_CACHE_GLOBAL = 18;
export const MMUEXT_MARK_SUPER = 19;
export const MMUEXT_UNMARK_SUPER = 20;

/** update_va_mapping flags: flush type in bits 1:0, scope in bit 2. */
export const UVMF_NONE = 0;
export const UVMF_TLB_FLUSH = 1;
export const UVMF_INVLPG = 2;
export const UVMF_FLUSHTYPE_MASK = 3;
export const UVMF_MULTI = 0 << 2;
export const UVMF_LOCAL = 0 << 2;
export const UVMF_ALL = 1 << 2;

/** vm_assist types. */
export const VMASST_CMD_enable = 0;
export const VMASST_CMD_disable = 1;
export const VMASST_TYPE_4gb_segments = 0;
export const VMASST_TYPE_4gb_segments_notify = 1;
export const VMASST_TYPE_writable_pagetables = 2;
export const VMASST_TYPE_pae_extended_cr3 = 3;
export const VMASST_TYPE_architectural_iopl = 4;
export const VMASST_TYPE_runstate_update_flag = 5;
export const VMASST_TYPE_m2p_strict = 32;

/** Page types (type_info bits 61-63 on x86-64; xen/arch/x86/include/asm/mm.h). */
export const PGT_none = 0;
export const PGT_l1_page_table = 1;
export const PGT_l2_page_table = 2;
export const PGT_l3_page_table = 3;
export const PGT_l4_page_table = 4;
export const PGT_seg_desc_page = 5;
export const PGT_shared_page = 6;
export const PGT_writable_page = 7;

/** callback_op commands and callback types (xen/include/public/callback.h). */
export const CALLBACKOP_register = 0;
export const CALLBACKOP_unregister = 1;
export const CALLBACKTYPE_event = 0;
export const CALLBACKTYPE_failsafe = 1;
export const CALLBACKTYPE_syscall = 2;
export const CALLBACKTYPE_sysenter_deprecated = 3;
export const CALLBACKTYPE_nmi = 4;
export const CALLBACKTYPE_sysenter = 5;
export const CALLBACKTYPE_syscall32 = 7;

/** physdev_op commands a PV simulator meets (xen/include/public/physdev.h). */
export const PHYSDEVOP_irq_status_query = 5;
export const PHYSDEVOP_set_iopl = 6;
export const PHYSDEVOP_set_iobitmap = 7;
export const PHYSDEVOP_eoi = 12;
export const PHYSDEVOP_map_pirq = 13;
export const PHYSDEVOP_unmap_pirq = 14;
