// Virtual disk name -> xenstore device id, as libxl__device_disk_dev_number computes it
// (tools/libs/light/libxl_device.c; docs/man/xen-vbd-interface.7.pandoc).

export interface VdevNumber {
  /** The vbd devid used in /local/domain/N/device/vbd/<devid>. */
  readonly devid: number;
  /** Disk index (xvda = 0) and partition (0 = whole disk); undefined for a raw number. */
  readonly disk: number | undefined;
  readonly partition: number | undefined;
}

const XVD_MAJOR = 202;

/** `<prefix><letters>[<partition>]` with letters in bijective base 26 (a=0, z=25, aa=26). */
function matchVirtdisk(
  vdev: string,
  prefix: string,
  maxDisk: number,
  maxPartition: number,
): { disk: number; partition: number } | undefined {
  if (!vdev.startsWith(prefix)) return undefined;
  let p = prefix.length;
  let disk = -1;
  while (p < vdev.length) {
    const c = vdev.charCodeAt(p);
    if (c < 0x61 || c > 0x7a) break;
    disk = (disk + 1) * 26 + (c - 0x61);
    if (disk > maxDisk) return undefined;
    p++;
  }
  if (p === prefix.length) return undefined;
  if (p === vdev.length) return { disk, partition: 0 };
  const rest = vdev.slice(p);
  // Leading zeroes are not allowed in the partition number.
  if (!/^[1-9][0-9]*$/.test(rest)) return undefined;
  const partition = Number.parseInt(rest, 10);
  if (partition > maxPartition) return undefined;
  return { disk, partition };
}

/**
 * The devid of a vdev (`xvda` = 51712, `xvdb` = 51728, `hda` = 768, `sda` = 2048, `d0p1`),
 * or undefined for a name libxl refuses ("Invalid or unsupported virtual disk identifier").
 */
export function vdevToDevid(vdev: string): VdevNumber | undefined {
  const dp = /^d([0-9]+)p([0-9]+)$/.exec(vdev);
  const xvd =
    dp !== null
      ? { disk: Number.parseInt(dp[1] ?? '', 10), partition: Number.parseInt(dp[2] ?? '', 10) }
      : matchVirtdisk(vdev, 'xvd', (1 << 20) - 1, 255);
  if (xvd && xvd.disk < 1 << 20 && xvd.partition < 256) {
    const { disk, partition } = xvd;
    const devid =
      disk <= 15 && partition <= 15
        ? (XVD_MAJOR << 8) | (disk << 4) | partition
        : (1 << 28) | (disk << 8) | partition;
    return { devid, disk, partition };
  }
  // A plain number (strtoul base 0) is used as the devid itself.
  if (/^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.test(vdev)) {
    const n =
      vdev.startsWith('0x') || vdev.startsWith('0X')
        ? Number.parseInt(vdev.slice(2), 16)
        : vdev.length > 1 && vdev.startsWith('0')
          ? Number.parseInt(vdev.slice(1), 8)
          : Number.parseInt(vdev, 10);
    if (n <= 0x7fffffff) return { devid: n, disk: undefined, partition: undefined };
    return undefined;
  }
  const hd = matchVirtdisk(vdev, 'hd', 3, 63);
  if (hd) {
    const major = hd.disk < 2 ? 3 : 22;
    return { devid: (major << 8) | ((hd.disk & 1) << 6) | hd.partition, ...hd };
  }
  const sd = matchVirtdisk(vdev, 'sd', 15, 15);
  if (sd) return { devid: (8 << 8) | (sd.disk << 4) | sd.partition, ...sd };
  return undefined;
}
