import type { Linter } from 'eslint';
export declare const CORE_FOLDERS: string[];
export declare const COMPOSITION_ROOT: string;
export declare const layerConfigs: Linter.Config[];
