// DISK_SPEC_STRING parsing as libxlu's disk lexer does it (tools/libs/util/libxlu_disk_l.l,
// libxlu_disk.c; docs/man/xl-disk-configuration.5.pod): positional
// `target,format,vdev,access`, key=value and flag forms, `target=` last, deprecated prefixes.

export type DiskFormat = 'raw' | 'qcow' | 'qcow2' | 'vhd' | 'empty' | 'qed';
export type DiskBackend = 'phy' | 'tap' | 'qdisk' | 'standalone';
export type DiskSpecification = 'xen' | 'virtio';

/** A parsed disk, with the fields of libxl_device_disk that a disk spec can set. */
export interface DiskSpec {
  /** The spec string as written. */
  readonly spec: string;
  /** Target (pdev_path); '' for an empty cdrom drive; undefined if never given. */
  readonly pdevPath: string | undefined;
  readonly vdev: string;
  readonly format: DiskFormat;
  readonly backend: DiskBackend | undefined;
  readonly backendDomname: string | undefined;
  readonly script: string | undefined;
  readonly readwrite: boolean;
  readonly isCdrom: boolean;
  readonly removable: boolean;
  readonly directIoSafe: boolean;
  readonly discardEnable: boolean | undefined;
  readonly trusted: boolean | undefined;
  readonly specification: DiskSpecification | undefined;
  readonly coloEnable: boolean | undefined;
  readonly coloHost: string | undefined;
  readonly coloPort: number | undefined;
  readonly coloExport: string | undefined;
  readonly activeDisk: string | undefined;
  readonly hiddenDisk: string | undefined;
  readonly grantUsage: boolean | undefined;
}

export interface DiskSpecError {
  readonly spec: string;
  /** The part of the spec the error is about, if any. */
  readonly near: string | undefined;
  readonly message: string;
  readonly hint: string;
}

export type DiskSpecResult =
  | { readonly ok: true; readonly disk: DiskSpec }
  | { readonly ok: false; readonly error: DiskSpecError };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const FORMATS: Readonly<Record<string, DiskFormat>> = {
  '': 'raw',
  raw: 'raw',
  qcow: 'qcow',
  qcow2: 'qcow2',
  vhd: 'vhd',
  empty: 'empty',
  qed: 'qed',
};
const BACKENDS: readonly DiskBackend[] = ['phy', 'tap', 'qdisk', 'standalone'];

/** Unwinds the spec scanner; caught in parseDiskSpec and returned as a result. */
class DiskSpecFailure extends Error {
  readonly error: DiskSpecError;
  constructor(error: DiskSpecError) {
    super(error.message);
    this.error = error;
  }
}

class DiskParse {
  readonly d: Mutable<Omit<DiskSpec, 'format' | 'vdev'>> & {
    format: DiskFormat | undefined;
    vdev: string | undefined;
  };
  private hadDeprPrefix = false;
  private accessSet = false;
  private readonly spec: string;

  constructor(spec: string) {
    this.spec = spec;
    this.d = {
      spec,
      pdevPath: undefined,
      vdev: undefined,
      format: undefined,
      backend: undefined,
      backendDomname: undefined,
      script: undefined,
      readwrite: true,
      isCdrom: false,
      removable: false,
      directIoSafe: false,
      discardEnable: undefined,
      trusted: undefined,
      specification: undefined,
      coloEnable: undefined,
      coloHost: undefined,
      coloPort: undefined,
      coloExport: undefined,
      activeDisk: undefined,
      hiddenDisk: undefined,
      grantUsage: undefined,
    };
  }

  fail(near: string | undefined, message: string, hint: string): never {
    throw new DiskSpecFailure({ spec: this.spec, near, message, hint });
  }

  /** libxlu's savestring: a second non-empty value for the same field is an error. */
  save(what: string, current: string | undefined, value: string): string {
    if (current !== undefined && current !== '')
      this.fail(value, `${what} respecified`, `give ${what} only once in a disk spec`);
    return value;
  }

  setFormat(str: string): void {
    const f = FORMATS[str];
    if (f === undefined)
      this.fail(str, 'unknown value for format', 'format is one of raw, qcow, qcow2, vhd, qed');
    if (this.d.format !== undefined && this.d.format !== f)
      this.fail(str, 'format respecified', 'give the format only once');
    this.d.format = f;
  }

  setAccess(str: string): void {
    if (str === 'r' || str === 'ro') this.d.readwrite = false;
    else if (str === 'rw' || str === 'w' || str === '') this.d.readwrite = true;
    else this.fail(str, 'unknown value for access', 'access is rw (or w) or ro (or r)');
  }

  /** `<vdev>:<devtype>` in the vdev position (deprecated); false if there is no colon. */
  vdevAndDevtype(str: string): boolean {
    const colon = str.lastIndexOf(':');
    if (colon < 0) return false;
    this.d.vdev = this.save('vdev', this.d.vdev, str.slice(0, colon));
    const type = str.slice(colon + 1);
    if (type === 'cdrom') this.d.isCdrom = true;
    else if (type === 'disk') this.d.isCdrom = false;
    else this.fail(type, 'unknown deprecated type', 'write devtype=cdrom or devtype=disk');
    return true;
  }

  positional(field: string): void {
    if (this.d.pdevPath === undefined) {
      this.d.pdevPath = field;
    } else if (!this.hadDeprPrefix && this.d.format === undefined) {
      if (this.d.pdevPath === '' && this.vdevAndDevtype(field)) this.d.format = 'empty';
      else this.setFormat(field);
    } else if (this.d.vdev === undefined) {
      if (!this.vdevAndDevtype(field)) this.d.vdev = field;
    } else if (!this.accessSet) {
      this.accessSet = true;
      this.setAccess(field);
    } else {
      this.fail(
        field,
        'too many positional parameters',
        'positional fields are target,format,vdev,access; name the others (key=value)',
      );
    }
  }

  /** key=value and flag fields; returns false if `field` is not one of them. */
  keyed(field: string): boolean {
    const eq = field.indexOf('=');
    const key = eq < 0 ? field : field.slice(0, eq);
    const val = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) return this.flag(field);
    switch (key) {
      case 'format':
        this.setFormat(val);
        return true;
      case 'devtype':
        if (val === 'cdrom') this.d.isCdrom = true;
        else if (val === 'disk') this.d.isCdrom = false;
        else this.fail(field, 'unknown value for type', 'devtype is cdrom or disk');
        return true;
      case 'access':
        this.setAccess(val);
        return true;
      case 'backend':
        this.d.backendDomname = this.save('backend', this.d.backendDomname, val);
        return true;
      case 'backendtype':
        if (!(BACKENDS as readonly string[]).includes(val))
          this.fail(
            val,
            'unknown value for backendtype',
            'backendtype is phy, qdisk, standalone or tap',
          );
        if (this.d.backend !== undefined && this.d.backend !== val)
          this.fail(val, 'backend respecified', 'give backendtype only once');
        this.d.backend = val as DiskBackend;
        return true;
      case 'specification':
        if (val !== 'xen' && val !== 'virtio')
          this.fail(val, 'unknown value for specification', 'specification is xen or virtio');
        this.d.specification = val;
        return true;
      case 'vdev':
        this.d.vdev = this.save('vdev', this.d.vdev, val);
        return true;
      case 'script':
        this.d.script = this.save('script', this.d.script, val);
        return true;
      case 'colo-host':
        this.d.coloHost = this.save('colo-host', this.d.coloHost, val);
        return true;
      case 'colo-port': {
        const port = Number.parseInt(val, 10);
        if (!(port > 0))
          this.fail(val, 'unknown value for colo_port', 'colo-port is a port number');
        this.d.coloPort = port;
        return true;
      }
      case 'colo-export':
        this.d.coloExport = this.save('colo-export', this.d.coloExport, val);
        return true;
      case 'active-disk':
        this.d.activeDisk = this.save('active-disk', this.d.activeDisk, val);
        return true;
      case 'hidden-disk':
        this.d.hiddenDisk = this.save('hidden-disk', this.d.hiddenDisk, val);
        return true;
      case 'grant_usage':
        if (val !== '0' && val !== '1')
          this.fail(field, 'unknown value for grant_usage', 'grant_usage is 0 or 1');
        this.d.grantUsage = val === '1';
        return true;
      default:
        if (/^[a-z][-a-z0-9]*$/.test(key))
          this.fail(
            field,
            'unknown parameter',
            'known keys: target, format, vdev, access, devtype, backend, backendtype, script, specification; put target= last',
          );
        return false;
    }
  }

  private flag(field: string): boolean {
    switch (field) {
      case 'cdrom':
        this.d.isCdrom = true;
        return true;
      case 'direct-io-safe':
        this.d.directIoSafe = true;
        return true;
      case 'discard':
        this.d.discardEnable = true;
        return true;
      case 'no-discard':
        this.d.discardEnable = false;
        return true;
      case 'colo':
        this.d.coloEnable = true;
        return true;
      case 'no-colo':
        this.d.coloEnable = false;
        return true;
      case 'trusted':
        this.d.trusted = true;
        return true;
      case 'untrusted':
        this.d.trusted = false;
        return true;
      default:
        return false;
    }
  }

  /** A deprecated `prefix:` at the start of `rest`; returns its length, or 0. */
  deprecatedPrefix(rest: string): number {
    let m = /^(raw|qcow2?|vhd):/.exec(rest);
    if (m) {
      this.hadDeprPrefix = true;
      this.setFormat(m[1] ?? '');
      return m[0].length;
    }
    m = /^(iscsi|e?nbd|drbd):/.exec(rest);
    if (m) {
      this.hadDeprPrefix = true;
      this.d.script = this.save('script', this.d.script, `block-${m[1] ?? ''}`);
      return m[0].length;
    }
    m = /^(tapdisk|tap2?|aio|ioemu|file|phy):/.exec(rest);
    if (m) {
      this.hadDeprPrefix = true;
      return m[0].length;
    }
    m = /^[a-z][a-z0-9]*:(?=$|[^a-z0-9])/.exec(rest);
    if (m)
      this.fail(
        m[0],
        'unknown deprecated disk prefix',
        'drop the prefix and use format=, backendtype= or script= instead (e.g. format=raw,vdev=xvda,target=/path)',
      );
    return 0;
  }

  run(): DiskSpec {
    const s = this.spec;
    let pos = 0;
    while (pos < s.length) {
      while (pos < s.length && ' \t\n'.includes(s[pos] ?? '')) pos++;
      if (pos >= s.length) break;
      const rest = s.slice(pos);
      if (rest.startsWith('target=')) {
        let v = rest.slice('target='.length);
        if (v.endsWith(',')) v = v.slice(0, -1);
        this.d.pdevPath = this.save('target', this.d.pdevPath, v);
        break;
      }
      const prefixLen = this.deprecatedPrefix(rest);
      if (prefixLen > 0) {
        pos += prefixLen;
        continue;
      }
      const comma = rest.indexOf(',');
      const field = comma < 0 ? rest : rest.slice(0, comma);
      const advance = comma < 0 ? rest.length : comma + 1;
      if (this.keyed(field)) {
        pos += advance;
        continue;
      }
      // Positional: `[^=,]*,|[^=,]+,?`; an `=` that starts no known key is bad syntax.
      const eq = field.indexOf('=');
      if (eq >= 0)
        this.fail(
          rest.slice(eq),
          'bad disk syntax',
          "a field is either positional (no `=') or key=value with a lowercase key; use target=PATH (last) for paths containing `=' or `,'",
        );
      this.positional(field);
      pos += advance;
    }
    return this.finish();
  }

  private finish(): DiskSpec {
    const d = this.d;
    let format = d.format ?? 'raw';
    if (d.isCdrom) {
      d.removable = true;
      d.readwrite = false;
      if (d.pdevPath === undefined || d.pdevPath === '') format = 'empty';
    }
    if (d.vdev === undefined)
      this.fail(
        undefined,
        'no vdev specified',
        'name the guest device, e.g. vdev=xvda (or 3rd positional field)',
      );
    if (d.pdevPath === undefined && !d.removable)
      this.fail(
        undefined,
        'no target specified (and device not removable)',
        'give the backing file or device, e.g. target=/var/lib/xen/images/disk.img',
      );
    return { ...d, vdev: d.vdev, format };
  }
}

/** Parses one DISK_SPEC_STRING. Never throws. */
export function parseDiskSpec(spec: string): DiskSpecResult {
  try {
    return { ok: true, disk: new DiskParse(spec).run() };
  } catch (e) {
    if (e instanceof DiskSpecFailure) return { ok: false, error: e.error };
    throw e;
  }
}

/** libxlu's report for a disk spec error: message, the offending part, the whole spec. */
export function formatDiskSpecError(e: DiskSpecError): string {
  const near = e.near === undefined ? '' : `: near \`${e.near}'`;
  return `config parsing error in disk specification: ${e.message}${near} in \`${e.spec}'`;
}

/**
 * The host path a disk's target names: xl-disk-configuration(5) says /dev is prepended to a
 * target that does not start with `/` (so `phy:hda1` means /dev/hda1). Undefined for an
 * empty or missing target (an empty cdrom drive).
 */
export function diskTargetPath(disk: DiskSpec): string | undefined {
  const t = disk.pdevPath;
  if (t === undefined || t === '') return undefined;
  return t.startsWith('/') ? t : `/dev/${t}`;
}
